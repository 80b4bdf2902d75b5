/* graph.cu -- CUDA graphs for the ops table's graph_* slots (backend.h): generation
 * records one decode step (every layer's launches, ~15 per layer) once and replays it
 * per token, so that a batch-1 step costs one launch instead of hundreds
 * (doc/generate.md "CUDA graphs").
 *
 * A graph holds the device pointers its kernels were launched with. The backend's own
 * buffers that grow on demand (scratch, scratch2, the GEMM pad copies, the RoPE table)
 * are reallocated when they grow; each reallocation calls t6_cuda_buffers_changed, which
 * bumps an epoch: a graph recorded in an older epoch is stale and graph_launch refuses
 * it (the caller records again). A reallocation while recording would put memory that
 * only exists inside the graph into the backend's state: it is refused with a message. */
#include "cuda_common.cuh"

#include <stdio.h>
#include <stdlib.h>

extern "C" {
#include "util.h"
}

typedef struct {
    cudaGraphExec_t exec;
    unsigned long epoch;
} cu_graph;

void t6_cuda_buffers_changed(t6_backend *be)
{
    t6_cuda_impl *im = cu_impl(be);
    cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
    CUDA_CHECK(cudaStreamIsCapturing(im->stream, &st));
    if (st != cudaStreamCaptureStatusNone)
        t6_fatal_hint("set generate.cuda_graphs = false, and report it",
                      "CUDA graphs: a backend buffer grew while a graph was being recorded (the recorded ops "
                      "must run once unrecorded first)");
    im->buf_epoch++;
}

int t6_cuda_graph_begin(t6_backend *be)
{
    /* thread-local mode: a forbidden call (a synchronisation, cudaMalloc) from this
     * thread fails instead of silently breaking the recording */
    CUDA_CHECK(cudaStreamBeginCapture(cu_stream(be), cudaStreamCaptureModeThreadLocal));
    return 1;
}

void *t6_cuda_graph_end(t6_backend *be)
{
    t6_cuda_impl *im = cu_impl(be);
    cudaGraph_t g = NULL;
    cudaError_t e = cudaStreamEndCapture(im->stream, &g);
    if (e != cudaSuccess || !g) {
        fprintf(stderr, "%s: warning: CUDA graph recording failed (%s); launching the kernels one by one\n",
                t6_progname(), cudaGetErrorString(e));
        (void)cudaGetLastError();
        if (g) cudaGraphDestroy(g);
        return NULL;
    }
    cudaGraphExec_t x = NULL;
    e = cudaGraphInstantiate(&x, g, 0);
    CUDA_CHECK(cudaGraphDestroy(g));
    if (e != cudaSuccess) {
        fprintf(stderr, "%s: warning: CUDA graph instantiation failed (%s); launching the kernels one by one\n",
                t6_progname(), cudaGetErrorString(e));
        (void)cudaGetLastError();
        return NULL;
    }
    cu_graph *h = (cu_graph *)t6_calloc(1, sizeof *h);
    h->exec = x;
    h->epoch = im->buf_epoch;
    return h;
}

int t6_cuda_graph_launch(t6_backend *be, void *graph)
{
    cu_graph *h = (cu_graph *)graph;
    if (!h || h->epoch != cu_impl(be)->buf_epoch) return -1;
    CUDA_CHECK(cudaGraphLaunch(h->exec, cu_stream(be)));
    return 0;
}

void t6_cuda_graph_free(t6_backend *be, void *graph)
{
    cu_graph *h = (cu_graph *)graph;
    if (!h) return;
    CUDA_CHECK(cudaStreamSynchronize(cu_stream(be)));   /* a replay may still be queued */
    CUDA_CHECK(cudaGraphExecDestroy(h->exec));
    free(h);
}
