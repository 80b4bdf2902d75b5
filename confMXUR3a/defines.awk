BEGIN {
D["PACKAGE_NAME"]=" \"t6c\""
D["PACKAGE_TARNAME"]=" \"t6c\""
D["PACKAGE_VERSION"]=" \"0.1.0\""
D["PACKAGE_STRING"]=" \"t6c 0.1.0\""
D["PACKAGE_BUGREPORT"]=" \"\""
D["PACKAGE_URL"]=" \"\""
D["PACKAGE"]=" \"t6c\""
D["VERSION"]=" \"0.1.0\""
D["HAVE_STDIO_H"]=" 1"
D["HAVE_STDLIB_H"]=" 1"
D["HAVE_STRING_H"]=" 1"
D["HAVE_INTTYPES_H"]=" 1"
D["HAVE_STDINT_H"]=" 1"
D["HAVE_STRINGS_H"]=" 1"
D["HAVE_SYS_STAT_H"]=" 1"
D["HAVE_SYS_TYPES_H"]=" 1"
D["HAVE_UNISTD_H"]=" 1"
D["STDC_HEADERS"]=" 1"
D["T6_HAVE_BLAS"]=" 1"
D["T6_HAVE_MPI"]=" 1"
D["T6_HAVE_CUDA"]=" 1"
D["T6_PREFIX"]=" \"/usr/local\""
D["T6_BINDIR"]=" \"/usr/local/bin\""
D["T6_INPUTDIR"]=" \"/usr/local/share/t6/input\""
D["T6_DOCDIR"]=" \"/usr/local/share/doc/t6c\""
D["T6_CONFIGURE_ARGS"]=" \"'--with-cuda-arch=90'\""
D["T6_HDF5_VERSION"]=" \"1.10.8 (hdf5-serial)\""
D["T6_LIBCONFIG_VERSION"]=" \"1.5\""
D["T6_BLAS_VERSION"]=" \"0.3.21\""
D["T6_NVCC_VERSION"]=" \"nvcc 13.0\""
D["T6_CUDA_ARCHS"]=" \"90\""
  for (key in D) D_is_set[key] = 1
  FS = ""
}
/^[\t ]*#[\t ]*(define|undef)[\t ]+[_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ][_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789]*([\t (]|$)/ {
  line = $ 0
  split(line, arg, " ")
  if (arg[1] == "#") {
    defundef = arg[2]
    mac1 = arg[3]
  } else {
    defundef = substr(arg[1], 2)
    mac1 = arg[2]
  }
  split(mac1, mac2, "(") #)
  macro = mac2[1]
  prefix = substr(line, 1, index(line, defundef) - 1)
  if (D_is_set[macro]) {
    # Preserve the white space surrounding the "#".
    print prefix "define", macro P[macro] D[macro]
    next
  } else {
    # Replace #undef with comments.  This is necessary, for example,
    # in the case of _POSIX_SOURCE, which is predefined and required
    # on some systems where configure will not decide to define it.
    if (defundef == "undef") {
      print "/*", prefix defundef, macro, "*/"
      next
    }
  }
}
{ print }
