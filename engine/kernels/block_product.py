"""``G = V @ W`` for a block of rows (float32, C-contiguous), in register tiles.

The attribution summary steps a block of gradients back one offset at a time:
``G_{k+1} = ((1 - H_k^2) * G_k) @ Wh``, one (rows, H) by (H, H) product per offset. A tile of
:data:`TILE_ROWS` rows by :data:`TILE_VECTORS` vectors of :data:`~factormap.engine.kernels.matvec.LANES`
columns keeps its sums in registers as LLVM IR vectors (16 zmm on AVX-512, 12 ymm on AVX2, enough
independent FMA chains to cover the FMA latency and few enough to leave room for ``W``'s row and
the broadcasts); each row j of ``W`` is loaded once per tile and multiplied by ``V[r, j]`` of the
tile's rows (``fma``, in the order of j, so an entry's bits do not depend on the tile's shape).
Rows and columns past the last whole tile are left to the caller.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from factormap.engine.kernels.matvec import LANES, _const, _is_float32_c
from factormap.engine.kernels.vector_width import WIDE_VECTORS

#: Rows of ``V`` (and ``G``) per tile.
TILE_ROWS = 8 if WIDE_VECTORS else 6
#: Vectors of :data:`~factormap.engine.kernels.matvec.LANES` columns per tile: 8 x 2 zmm on
#: AVX-512 (16 chains; 6 x 1 zmm ran at 131 GFLOP/s on a Zen 5 core, 8 x 2 at 213, OpenBLAS's
#: sgemm at 213), 6 x 1 vector (12 ymm) on AVX2.
TILE_VECTORS = 2 if WIDE_VECTORS else 1


def _tile_sums(vectors: int):
    """An intrinsic ``(V, W, G, first) -> stop``: ``G[r, c] = sum_j V[r, j] * W[j, c]`` for the
    rows r of whole :data:`TILE_ROWS` tiles and the columns c of whole blocks of ``vectors``
    vectors from column ``first``, returning the column after the last block. float32, C-contiguous."""
    width = vectors * LANES

    @intrinsic
    def tile_sums(typingctx, V, W, G, first):
        if not (_is_float32_c(V, 2) and _is_float32_c(W, 2) and _is_float32_c(G, 2)):
            return None
        sig = types.intp(V, W, G, types.intp)

        def codegen(context, builder, signature, args):
            V_arr, W_arr, G_arr = (context.make_array(ty)(context, builder, arg)
                                   for ty, arg in zip(signature.args[:3], args[:3]))
            first_col = args[3]
            rows, inner = builder.extract_value(V_arr.shape, 0), builder.extract_value(V_arr.shape, 1)
            cols = builder.extract_value(W_arr.shape, 1)
            vec_t = ir.VectorType(ir.FloatType(), LANES)
            vec_ptr_t = vec_t.as_pointer()
            fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vec_t, [vec_t] * 3),
                                                 f"llvm.fma.v{LANES}f32")
            slots = [[cgutils.alloca_once(builder, vec_t) for _ in range(vectors)] for _ in range(TILE_ROWS)]
            zero_vec = ir.Constant(vec_t, None)
            splat_mask = ir.Constant(ir.VectorType(ir.IntType(32), LANES), None)
            blocks = builder.udiv(builder.sub(cols, first_col), _const(width))
            tiles = builder.udiv(rows, _const(TILE_ROWS))

            def vector_at(ptr, index):
                return builder.bitcast(builder.gep(ptr, [index]), vec_ptr_t)

            with cgutils.for_range(builder, blocks) as block_loop:
                base = builder.add(first_col, builder.mul(block_loop.index, _const(width)))
                with cgutils.for_range(builder, tiles) as tile_loop:
                    top = builder.mul(tile_loop.index, _const(TILE_ROWS))
                    for row in slots:
                        for slot in row:
                            builder.store(zero_vec, slot)
                    with cgutils.for_range(builder, inner) as j_loop:
                        j = j_loop.index
                        row_start = builder.add(builder.mul(j, cols), base)
                        w = [builder.load(vector_at(W_arr.data, builder.add(row_start, _const(c * LANES))), align=4)
                             for c in range(vectors)]
                        for q, row in enumerate(slots):
                            at = builder.add(builder.mul(builder.add(top, _const(q)), inner), j)
                            vq = builder.load(builder.gep(V_arr.data, [at]))
                            lane0 = builder.insert_element(zero_vec, vq, ir.Constant(ir.IntType(32), 0))
                            splat = builder.shuffle_vector(lane0, zero_vec, splat_mask)
                            for c, slot in enumerate(row):
                                builder.store(builder.call(fma, [w[c], splat, builder.load(slot)]), slot)
                    for q, row in enumerate(slots):
                        out = builder.add(builder.mul(builder.add(top, _const(q)), cols), base)
                        for c, slot in enumerate(row):
                            at = vector_at(G_arr.data, builder.add(out, _const(c * LANES)))
                            builder.store(builder.load(slot), at, align=4)
            return builder.add(first_col, builder.mul(blocks, _const(width)))

        return sig, codegen

    return tile_sums


#: ``tile_product(V, W, G, first)``: the tiles of :data:`TILE_VECTORS` vectors from column ``first``.
tile_product = _tile_sums(TILE_VECTORS)
#: The same with one vector per tile, for the columns past the last whole :data:`TILE_VECTORS` block.
narrow_tile_product = _tile_sums(1)
