"""Numeric constants shared by the engine's kernels and public functions."""

#: Probabilities are floored here before the log, so one impossible byte costs 26.6 bits, not inf.
PROB_FLOOR = 1e-8

#: A readout bias of -inf (a byte the model never predicts) is stored as this logit: exp of it
#: underflows to 0 in float32 and float64 whatever the other logits, so that byte's bits are the
#: PROB_FLOOR clamp, as with -inf, while the kernels' sums stay finite.
NEVER_PREDICTED_LOGIT = -1e4

#: Every numba kernel is compiled with these flags.
NUMBA_FLAGS = dict(cache=True, nogil=True, fastmath=True)
#: Kernels whose floating-point order must match numpy (gradients, float64 mode) drop fastmath.
NUMBA_FLAGS_EXACT = dict(cache=True, nogil=True)

#: Positions per chunk of the streamed forward pass (recurrence of chunk i overlaps readout of i-1).
CHUNK = 4096

#: The session keeps a hidden state every this many positions, to re-run any range exactly.
CHECKPOINT_EVERY = 1024

#: Texts up to this many bytes keep every hidden state in memory (N x H float32).
FULL_STATES_LIMIT = 1 << 18

#: A model file larger than this is refused before loading (a 4 GiB model is surely a mistake).
MAX_MODEL_BYTES = 2 << 30

#: Bytes the attribution summary may spend keeping every ||g_k(t)|| ((K+1)(n-1) values, e.g. a
#: 1 MB text at K=64 in float32); above it, the norms are not kept and the medians take a second pass.
ATTRIBUTION_NORMS_BUDGET = 256 << 20

#: The trust horizon is where the float32 and float64 states first part by more than this
#: (max over units of |h32 - h64|, in tanh units).
TRUST_TOLERANCE = 1e-3

#: The trust horizon and the Lyapunov exponent cover at most this many positions of a text.
TRUST_POSITIONS = 1 << 20

#: Tokens of the 256-byte alphabet.
VOCAB = 256
