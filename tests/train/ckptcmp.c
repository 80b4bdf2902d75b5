/* ckptcmp.c -- compares one group of float datasets (e.g. /params or /optim/m) of two
 * t6 checkpoints: `ckptcmp A.h5 B.h5 GROUP TOL` prints the largest absolute element
 * difference, the relative difference of the whole group ||a - b|| / ||a|| and the
 * largest per-tensor relative difference ||a_t - b_t|| / ||a_t||, and exits 0 when
 * the per-tensor figure is <= TOL (1 otherwise, 2 on a read error). The tensors must
 * be the same set with the same sizes. Used by tests/train/zero.sh, where gradients
 * summed in another order make element-wise relative comparisons meaningless for
 * elements that are nearly zero. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    hid_t other;           /* B's group */
    const char *gname;
    double max_abs, d2, a2, worst_rel;
    char worst[256];
    int n, err;
} cmp;

static float *read_all(hid_t g, const char *name, hsize_t *n)
{
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0) return NULL;
    hid_t sp = H5Dget_space(d);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    H5Sclose(sp);
    float *x = malloc((size_t)(np > 0 ? np : 1) * sizeof(float));
    if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0) {
        free(x);
        x = NULL;
    }
    H5Dclose(d);
    *n = (hsize_t)np;
    return x;
}

static herr_t visit(hid_t g, const char *name, const H5L_info_t *info, void *arg)
{
    (void)info;
    cmp *c = arg;
    hsize_t na = 0, nb = 0;
    float *a = read_all(g, name, &na), *b = read_all(c->other, name, &nb);
    if (!a || !b || na != nb) {
        fprintf(stderr, "ckptcmp: %s/%s: %s\n", c->gname, name, !a || !b ? "cannot read in both files" : "sizes differ");
        c->err = 1;
        free(a);
        free(b);
        return 0;
    }
    double d2 = 0, a2 = 0;
    for (hsize_t i = 0; i < na; i++) {
        double d = (double)a[i] - (double)b[i];
        if (fabs(d) > c->max_abs) c->max_abs = fabs(d);
        d2 += d * d;
        a2 += (double)a[i] * a[i];
    }
    double rel = a2 > 0 ? sqrt(d2 / a2) : (d2 > 0 ? INFINITY : 0);
    if (rel > c->worst_rel || c->n == 0) {
        c->worst_rel = rel;
        snprintf(c->worst, sizeof c->worst, "%s", name);
    }
    c->d2 += d2;
    c->a2 += a2;
    c->n++;
    free(a);
    free(b);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: ckptcmp A.h5 B.h5 GROUP TOL\n");
        return 2;
    }
    hid_t fa = H5Fopen(argv[1], H5F_ACC_RDONLY, H5P_DEFAULT), fb = H5Fopen(argv[2], H5F_ACC_RDONLY, H5P_DEFAULT);
    if (fa < 0 || fb < 0) {
        fprintf(stderr, "ckptcmp: cannot open %s\n", fa < 0 ? argv[1] : argv[2]);
        return 2;
    }
    hid_t ga = H5Gopen2(fa, argv[3], H5P_DEFAULT), gb = H5Gopen2(fb, argv[3], H5P_DEFAULT);
    if (ga < 0 || gb < 0) {
        fprintf(stderr, "ckptcmp: no group %s in %s\n", argv[3], ga < 0 ? argv[1] : argv[2]);
        return 2;
    }
    cmp c;
    memset(&c, 0, sizeof c);
    c.other = gb;
    c.gname = argv[3];
    H5Literate(ga, H5_INDEX_NAME, H5_ITER_INC, NULL, visit, &c);
    hsize_t nb = 0;
    H5G_info_t gi;
    if (H5Gget_info(gb, &gi) >= 0) nb = gi.nlinks;
    if ((hsize_t)c.n != nb) {
        fprintf(stderr, "ckptcmp: %s has %d tensors in %s, %llu in %s\n", argv[3], c.n, argv[1],
                (unsigned long long)nb, argv[2]);
        c.err = 1;
    }
    double tol = atof(argv[4]);
    printf("%s: %d tensors, max abs diff %.3e, group rel diff %.3e, worst tensor rel diff %.3e (%s)\n", argv[3], c.n,
           c.max_abs, c.a2 > 0 ? sqrt(c.d2 / c.a2) : 0.0, c.worst_rel, c.worst);
    H5Gclose(ga);
    H5Gclose(gb);
    H5Fclose(fa);
    H5Fclose(fb);
    if (c.err || c.n == 0) return 2;
    return c.worst_rel <= tol ? 0 : 1;
}
