/*
 * dist.c — MPI for data-parallel training (see dist.h), or, built without
 * MPI, one rank and no-ops.
 *
 * Every call works on MPI_COMM_WORLD and asks MPI whether it is running, so
 * the module keeps no state of its own: a program that never calls
 * nglm_dist_init (the test suites, a library user) is one rank even when
 * libnglm is built with MPI.  nglm_dist_init starts MPI only under an MPI
 * launcher (mpirun, mpiexec, srun): a program started on its own stays a
 * plain process, without MPI's start-up cost and its shared-memory files
 * (which fail under a file size limit, tests/cli_reliability.sh).  Counts
 * above INT_MAX are sent in chunks.
 */
#ifdef HAVE_CONFIG_H /* configure's; python/build_nglm.py builds without (no MPI) */
#include "config.h"
#endif

#include "dist.h"

#include <limits.h>
#include <stdlib.h>

#ifdef HAVE_MPI
#include <mpi.h>

static int running(void)
{
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    if (init)
        MPI_Finalized(&fin);
    return init && !fin;
}

/* The variables Open MPI's, MPICH's (Hydra) and Slurm's launchers set. */
static int launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                       "PMI_SIZE", "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        if (getenv(vars[i]))
            return 1;
    return 0;
}

int nglm_dist_init(int *argc, char ***argv)
{
    if (!launched())
        return 0;
    int provided;
    return MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) == MPI_SUCCESS ? 0 : -1;
}

void nglm_dist_finalize(void)
{
    if (running())
        MPI_Finalize();
}

int nglm_dist_rank(void)
{
    int r = 0;
    if (running())
        MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int nglm_dist_size(void)
{
    int k = 1;
    if (running())
        MPI_Comm_size(MPI_COMM_WORLD, &k);
    return k;
}

/* In-place allreduce of n elements, in chunks that fit an int count. */
static void allreduce(void *x, size_t n, size_t elem_size, MPI_Datatype type, MPI_Op op)
{
    if (nglm_dist_size() < 2)
        return;
    char *p = x;
    while (n > 0) {
        int c = n > (size_t)(INT_MAX / 2) ? INT_MAX / 2 : (int)n;
        MPI_Allreduce(MPI_IN_PLACE, p, c, type, op, MPI_COMM_WORLD);
        p += (size_t)c * elem_size;
        n -= (size_t)c;
    }
}

void nglm_dist_sum_i64(int64_t *x, size_t n)
{
    allreduce(x, n, sizeof *x, MPI_INT64_T, MPI_SUM);
}

void nglm_dist_merge(void *x, size_t n, size_t elem_size)
{
    allreduce(x, n, elem_size, elem_size == 8 ? MPI_UINT64_T : MPI_UINT32_T, MPI_BOR);
}

int nglm_dist_max_int(int x)
{
    if (nglm_dist_size() > 1)
        MPI_Allreduce(MPI_IN_PLACE, &x, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return x;
}

void nglm_dist_bcast(void *x, size_t bytes)
{
    if (nglm_dist_size() > 1)
        MPI_Bcast(x, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
}

#else /* one rank */

int nglm_dist_init(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

void nglm_dist_finalize(void) {}
int nglm_dist_rank(void) { return 0; }
int nglm_dist_size(void) { return 1; }
void nglm_dist_sum_i64(int64_t *x, size_t n) { (void)x; (void)n; }
void nglm_dist_merge(void *x, size_t n, size_t elem_size) { (void)x; (void)n; (void)elem_size; }
int nglm_dist_max_int(int x) { return x; }
void nglm_dist_bcast(void *x, size_t bytes) { (void)x; (void)bytes; }

#endif
