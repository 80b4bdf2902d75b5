# modulefiles/local.mk -- the modulefile (Tcl, for Environment Modules and Lmod) that
# configure writes from modulefiles/t6.in with this build's prefix; installed as
# $(datadir)/t6/modulefiles/t6/$(VERSION), so that `module use
# $(datadir)/t6/modulefiles` makes `module load t6` (or t6/$(VERSION)) work.
# tests/install/modulefile.sh loads it with modulecmd.
t6moduledir = $(datadir)/t6/modulefiles/t6
EXTRA_DIST += modulefiles/t6.in
install-data-local: install-modulefile
uninstall-local: uninstall-modulefile
install-modulefile: modulefiles/t6
	$(MKDIR_P) '$(DESTDIR)$(t6moduledir)'
	$(INSTALL_DATA) modulefiles/t6 '$(DESTDIR)$(t6moduledir)/$(VERSION)'
uninstall-modulefile:
	rm -f '$(DESTDIR)$(t6moduledir)/$(VERSION)'
.PHONY: install-modulefile uninstall-modulefile
