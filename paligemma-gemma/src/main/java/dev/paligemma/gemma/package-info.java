/**
 * PaliGemma's Gemma 1 / Gemma 2 language decoder: {@link dev.paligemma.gemma.GemmaModel} (immutable
 * weights), {@link dev.paligemma.gemma.GemmaSession} (KV cache, prefill, decode, generation) and the
 * generation options and results.
 */
package dev.paligemma.gemma;
