/*
 * nglm/dist.h — running nglm's training on several machines under MPI
 * (./configure --with-mpi, doc/mpi.md).
 *
 * A program that calls nglm_dist_init under mpirun makes nglm_train
 * collective over MPI_COMM_WORLD (nglm/train.h): every rank calls it with
 * the same model, texts and options, and all get the same weights.
 * Without MPI, or before nglm_dist_init, there is one rank, rank 0, and
 * these calls are no-ops.
 */
#ifndef NGLM_PUBLIC_DIST_H
#define NGLM_PUBLIC_DIST_H

#ifdef __cplusplus
extern "C" {
#endif

/* Starts MPI (threads: funneled; MPI is called only outside parallel
 * regions).  A no-op without MPI.  Returns 0, or -1 if MPI failed. */
int nglm_dist_init(int *argc, char ***argv);
void nglm_dist_finalize(void);

/* This process's rank, 0 .. nglm_dist_size() - 1. */
int nglm_dist_rank(void);
int nglm_dist_size(void);

#ifdef __cplusplus
}
#endif
#endif
