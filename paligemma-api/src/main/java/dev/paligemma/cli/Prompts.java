package dev.paligemma.cli;

import dev.paligemma.core.InvalidArgumentException;

import java.util.ArrayList;
import java.util.List;

/** Validation of the text that goes into prompts, with errors naming the option. */
final class Prompts {
    private Prompts() {
    }

    static String lang(String lang) {
        if (lang == null || !lang.strip().matches("[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*")) {
            throw new InvalidArgumentException("--lang: '" + lang + "' is not a language code such as en, de, zh");
        }
        return lang.strip();
    }

    static String text(String option, String value) {
        if (value == null || value.isBlank()) {
            throw new InvalidArgumentException(option + ": must not be empty");
        }
        return value.strip();
    }

    /** {@code "cat ; dog"} as labels. */
    static List<String> labels(String objects) {
        List<String> out = new ArrayList<>();
        for (String s : text("--objects", objects).split(";")) {
            if (!s.isBlank()) {
                out.add(s.strip());
            }
        }
        if (out.isEmpty()) {
            throw new InvalidArgumentException("--objects: name at least one object, e.g. \"cat ; dog\"");
        }
        return out;
    }
}
