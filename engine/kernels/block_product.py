"""``G = V @ W`` for a block of rows (float32, C-contiguous), in register tiles.

The attribution summary steps a block of gradients back one offset at a time:
``G_{k+1} = ((1 - H_k^2) * G_k) @ Wh``, one (rows, H) by (H, H) product per offset. A tile of
:data:`TILE_ROWS` rows by one vector of :data:`~factormap.engine.kernels.matvec.LANES` columns keeps
its sums in registers as LLVM IR vectors (6 zmm on AVX-512, 12 ymm on AVX2, enough independent
FMA chains to cover the FMA latency and few enough to leave room for ``W``'s row and the
broadcasts); each row j of ``W`` is loaded once per tile and multiplied by ``V[r, j]`` of the
tile's rows (``fma``, in the order of j). Rows and columns past the last whole tile are left to
the caller.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from factormap.engine.kernels.matvec import LANES, _const, _is_float32_c

#: Rows of ``V`` (and ``G``) per tile.
TILE_ROWS = 6


@intrinsic
def tile_product(typingctx, V, W, G):
    """``G[r, c] = sum_j V[r, j] * W[j, c]`` for the rows r of whole :data:`TILE_ROWS` tiles and the
    columns c of whole vectors; returns the columns done (``n - n % LANES``). float32, C-contiguous."""
    if not (_is_float32_c(V, 2) and _is_float32_c(W, 2) and _is_float32_c(G, 2)):
        return None
    sig = types.intp(V, W, G)

    def codegen(context, builder, signature, args):
        V_arr, W_arr, G_arr = (context.make_array(ty)(context, builder, arg)
                               for ty, arg in zip(signature.args, args))
        rows, inner = builder.extract_value(V_arr.shape, 0), builder.extract_value(V_arr.shape, 1)
        cols = builder.extract_value(W_arr.shape, 1)
        vec_t = ir.VectorType(ir.FloatType(), LANES)
        vec_ptr_t = vec_t.as_pointer()
        fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vec_t, [vec_t] * 3),
                                             f"llvm.fma.v{LANES}f32")
        slots = [cgutils.alloca_once(builder, vec_t) for _ in range(TILE_ROWS)]
        zero_vec = ir.Constant(vec_t, None)
        splat_mask = ir.Constant(ir.VectorType(ir.IntType(32), LANES), None)
        blocks = builder.udiv(cols, _const(LANES))
        tiles = builder.udiv(rows, _const(TILE_ROWS))

        def vector_at(ptr, index):
            return builder.bitcast(builder.gep(ptr, [index]), vec_ptr_t)

        with cgutils.for_range(builder, blocks) as block_loop:
            base = builder.mul(block_loop.index, _const(LANES))
            with cgutils.for_range(builder, tiles) as tile_loop:
                first = builder.mul(tile_loop.index, _const(TILE_ROWS))
                for slot in slots:
                    builder.store(zero_vec, slot)
                with cgutils.for_range(builder, inner) as j_loop:
                    j = j_loop.index
                    w = builder.load(vector_at(W_arr.data, builder.add(builder.mul(j, cols), base)), align=4)
                    for q, slot in enumerate(slots):
                        at = builder.add(builder.mul(builder.add(first, _const(q)), inner), j)
                        vq = builder.load(builder.gep(V_arr.data, [at]))
                        splat = builder.shuffle_vector(
                            builder.insert_element(zero_vec, vq, ir.Constant(ir.IntType(32), 0)), zero_vec, splat_mask)
                        builder.store(builder.call(fma, [w, splat, builder.load(slot)]), slot)
                for q, slot in enumerate(slots):
                    out = builder.add(builder.mul(builder.add(first, _const(q)), cols), base)
                    builder.store(builder.load(slot), vector_at(G_arr.data, out), align=4)
        return builder.mul(blocks, _const(LANES))

    return sig, codegen
