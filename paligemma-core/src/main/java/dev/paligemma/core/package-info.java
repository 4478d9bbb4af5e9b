/**
 * Core of paligemma-java: checkpoint loading (memory-mapped safetensors), configuration, the error
 * hierarchy rooted at {@link dev.paligemma.core.PaliGemmaException}, and (in {@code ops}) the kernels.
 */
package dev.paligemma.core;
