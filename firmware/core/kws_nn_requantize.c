/* TFLM's MultiplyByQuantizedMultiplier as a function (kws_nn.h): the generator's tests and the
 * host reference call it; the kernels use the inline requant of kws_nn_support.h. */
#include "kws_nn_support.h"

int32_t kws_nn_requantize(int32_t acc, int32_t multiplier, int32_t shift)
{
    return rdbpot(srdhm((int32_t)((uint32_t)acc << (shift > 0 ? shift : 0)), multiplier), shift > 0 ? 0 : -shift);
}
