/* confdefs.h */
#define PACKAGE_NAME "t6c"
#define PACKAGE_TARNAME "t6c"
#define PACKAGE_VERSION "0.1.0"
#define PACKAGE_STRING "t6c 0.1.0"
#define PACKAGE_BUGREPORT ""
#define PACKAGE_URL ""
#define PACKAGE "t6c"
#define VERSION "0.1.0"
#define HAVE_STDIO_H 1
#define HAVE_STDLIB_H 1
#define HAVE_STRING_H 1
#define HAVE_INTTYPES_H 1
#define HAVE_STDINT_H 1
#define HAVE_STRINGS_H 1
#define HAVE_SYS_STAT_H 1
#define HAVE_SYS_TYPES_H 1
#define HAVE_UNISTD_H 1
#define STDC_HEADERS 1
#define T6_HAVE_BLAS 1
#define T6_HAVE_MPI 1
#define T6_HAVE_CUDA 1
#define T6_PREFIX "/usr/local"
#define T6_BINDIR "/usr/local/bin"
#define T6_INPUTDIR "/usr/local/share/t6/input"
#define T6_DOCDIR "/usr/local/share/doc/t6c"
#define T6_CONFIGURE_ARGS "'--with-cuda-arch=90'"
#define T6_HDF5_VERSION "1.10.8 (hdf5-serial)"
#define T6_LIBCONFIG_VERSION "1.5"
#define T6_BLAS_VERSION "0.3.21"
#define T6_NVCC_VERSION "nvcc 13.0"
#define T6_CUDA_ARCHS "90"
