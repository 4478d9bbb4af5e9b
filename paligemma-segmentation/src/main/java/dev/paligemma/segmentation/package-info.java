/**
 * Segmentation for PaliGemma: parses the {@code <locNNNN>x4 <segNNN>x16 label} groups the model
 * writes, decodes the 16 codes into a 64x64 mask with big_vision's VQ-VAE decoder
 * ({@code vae-oid.npz}, read by the dependency-free {@link dev.paligemma.segmentation.NpzFile}),
 * and pastes that mask into the pixel box exactly as big_vision's segmentation evaluator does.
 */
package dev.paligemma.segmentation;
