/* The serial link's flow control, one home for the app (its HELLO grants) and the ports (their
 * receive ring): the host keeps at most KWS_LINK_CREDITS AUDIO frames of at most
 * KWS_LINK_MAX_BLOCK samples in flight (docs/protocol.md), so the ring holds them and a few
 * short requests, and nothing more. */
#ifndef KWS_LINK_H
#define KWS_LINK_H

#include "kws_fe_config.h"
#include "kws_proto.h"

#define KWS_LINK_MAX_BLOCK KWS_FE_HOP                      /* samples per AUDIO frame at most */
#define KWS_LINK_CREDITS 2u                                /* AUDIO frames the host may send ahead */
#define KWS_LINK_AUDIO_WIRE KWS_PROTO_WIRE_BYTES(6u + 2u * KWS_LINK_MAX_BLOCK)
#define KWS_LINK_REQUEST_SLACK 64u                         /* HELLO/STATS/MONITOR requests: <= 12 B each */
#define KWS_LINK_RX_RING (KWS_LINK_CREDITS * KWS_LINK_AUDIO_WIRE + KWS_LINK_REQUEST_SLACK)

#endif /* KWS_LINK_H */
