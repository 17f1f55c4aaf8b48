// libjpeg-turbo and libpng, the only image decoders libgoal uses.
#include <stdio.h>
#include <jpeglib.h>
#include <png.h>
