// zlib, for gzip-compressed vocabulary files (bpe_simple_vocab_16e6.txt.gz).
#include <zlib.h>
