package dev.paligemma.core;

/** A config.json or preprocessor_config.json is malformed, misses a required key or names an unsupported model. */
public class ConfigException extends PaliGemmaException {
    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
