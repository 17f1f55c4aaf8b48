// OpenBLAS's CBLAS interface. Debian installs cblas.h through the alternatives system;
// this is the only header of the package that names it.
#include <cblas.h>
