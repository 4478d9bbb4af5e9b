package dev.paligemma.bench;

import dev.paligemma.core.config.TextConfig;
import dev.paligemma.core.config.VisionConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class FlopCountTest {
    @Test
    void visionOnATinyShapeCountedByHand() {
        // 2x2 image, 1x1 patches, 1 channel: N = 4 patches, width 2, MLP 3, 1 layer, projector to 2
        VisionConfig v = new VisionConfig(2, 3, 1, 1, 2, 1, 1, 1e-6, 2);
        // patch embedding 2*4*2*1 = 16; q,k,v,out 4 * 2*4*2*2 = 128; fc1 + fc2 2 * 2*4*2*3 = 96;
        // attention Q K^T and P V 2 * 2*4*4*2 = 128; projector 2*4*2*2 = 32
        assertEquals(16 + 128 + 96 + 128 + 32, FlopCount.vision(v));
    }

    @Test
    void prefillAndDecodeOnATinyShapeCountedByHand() {
        // H 4, MLP 6, 2 layers, 2 heads of dim 2 (Q width 4), 1 KV head (K width 2), vocabulary 10
        TextConfig t = new TextConfig("gemma", 4, 6, 2, 2, 1, 2, 1e-6, 10000, "gelu_pytorch_tanh", 10, 8192,
                2, 0, 0, 0);
        // T = 3 tokens, per layer: q 2*3*4*4 = 96, k 2*3*4*2 = 48, v 48, o 2*3*4*4 = 96;
        // gate, up, down 3 * 2*3*4*6 = 432; attention 2 heads * (2*3*3*2 + 2*3*3*2) = 144 -> 864
        // two layers 1728, output head for the last position 2*4*10 = 80
        assertEquals(1728 + 80, FlopCount.prefill(t, 3));
        // one step with 5 cached positions: projections 32+16+16+32 = 96, MLP 144,
        // attention 2 heads * (2*5*2 + 2*5*2) = 80 -> 320 per layer, 640, + head 80
        assertEquals(640 + 80, FlopCount.decodeStep(t, 5));
    }

    @Test
    void realShapesGiveThePublishedOrderOfMagnitude() {
        // SigLIP So400m at 224 with the 2048-wide projector: matmuls 2 * 256 * (1152*588 + 27 * (4*1152^2
        // + 2*1152*4304) + 1152*2048) = 512 * 414,107,136 = 212,022,853,632; attention 27 * 4 * 256^2 * 1152
        // = 8,153,726,976
        VisionConfig so400m = new VisionConfig(1152, 4304, 27, 16, 224, 14, 3, 1e-6, 2048);
        assertEquals(220_176_580_608.0, FlopCount.vision(so400m));
    }
}
