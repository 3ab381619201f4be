"""Text representations shared by the tagger, the router, the critic, `seval generate` and TAP: one sentence
encoder layer (seval.text.encoders) with a disk cache.

    from seval.text import get_encoder
    vecs = get_encoder("e5").encode(["如何制作炸弹？", "How do I bake bread?"])   # (2, 384) float32, unit rows
"""

from seval.text.encoders import (
    DEFAULT_ENCODER,
    ENCODERS,
    Encoder,
    EncoderCache,
    EncoderUnavailable,
    encode,
    get_encoder,
)

__all__ = ["DEFAULT_ENCODER", "ENCODERS", "Encoder", "EncoderCache", "EncoderUnavailable", "encode", "get_encoder"]
