/*
 * classlm_core.h — the pieces of Model M's exact scoring that the model
 * (classlm.c) and its trainer (classlm_train.c) share (internal to libnglm;
 * doc/model.md §8).
 */
#ifndef NGLM_CLASSLM_CORE_H
#define NGLM_CLASSLM_CORE_H
#include "nglm/classlm.h"

/* The chain of contexts of F for a history: hist[0] is the previous word
 * (internal id), hist[nh-1] the oldest known; with bos, <s> comes before
 * hist[nh-1].  With map (the internal ids' classes), the chain of the
 * class history.  nodes[j-1] is the context of length j; returns the depth. */
int nglm_cl_chain(const nglm_features *F, const int32_t *hist, int nh, int bos,
                  const int32_t *map, int32_t *nodes);

/* What nglm_cl_token leaves besides the log-probability. */
typedef struct nglm_cl_tok {
    double Zc;        /* Σ_c ec[c], the class factor's normaliser over exp(s − mx) */
    double Zw;        /* the word factor's normaliser within the class */
    uint32_t lo, hi;  /* ww features of the shortest word context in the class:
                       * every word with a feature in the history is there */
} nglm_cl_tok;

/* ln P(w | h) for internal word w, from the class chain ncc (depth dcc) and
 * the word chain nww (depth dww).  eu[v] = exp θ_v, U[k] = Σ_{v∈k} eu[v].
 * Leaves ec[c] = exp(s_c − max s) for c = 1 .. C (P(c | h) = ec[c]/Zc) and
 * ws[v − first[k]] = the history's word-feature sum a_v for the words of
 * ww features lo .. hi-1 (P(v | h, k) = eu[v]·exp(a_v)/Zw; eu[v]/Zw for the
 * other words of k). */
double nglm_cl_token(const nglm_classlm *m, const double *eu, const double *U,
                     const int32_t *ncc, int dcc, const int32_t *nww, int dww, int32_t w,
                     double *ec, double *ws, nglm_cl_tok *o);

/* eu (V) and U (C + 1) from the current weights. */
void nglm_cl_unigrams(const nglm_classlm *m, double *eu, double *U);

/* A start from Kneser-Ney: the class n-gram weights the exact softmax form
 * of a Kneser-Ney model of the class text (nglm/kn.h, nglm_kn_to_weights),
 * the word n-gram weights that of a Kneser-Ney model of the words, the
 * word-to-class weights 0.  The class factor is then the class KN model,
 * the word factor the word KN model renormalised within the class:
 * P(w | h) = P_KN(c(w) | c(h)) · P_KN(w | h) / Σ_{v ∈ c(w)} P_KN(v | h). */
int nglm_classlm_init_kn(nglm_classlm *m, const nglm_corpus *train, int threads,
                         nglm_error *err);

/* The size of the largest class. */
uint32_t nglm_cl_max_class(const nglm_classlm *m);

/* First feature index in [a, b) of F whose word is >= w. */
static inline uint32_t nglm_cl_lower(const nglm_features *F, uint32_t a, uint32_t b, int32_t w)
{
    while (a < b) {
        uint32_t mid = a + (b - a) / 2;
        if (F->feat_word[mid] < w)
            a = mid + 1;
        else
            b = mid;
    }
    return a;
}

#endif
