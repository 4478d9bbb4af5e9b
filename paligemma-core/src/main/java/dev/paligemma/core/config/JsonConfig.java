package dev.paligemma.core.config;

import dev.paligemma.core.ConfigException;
import dev.paligemma.core.Json;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** Typed access to one JSON object of a config file, with errors that name the file and key. */
final class JsonConfig {
    static final long MAX_CONFIG_BYTES = 16L << 20;

    private final String file;
    private final String prefix;
    private final Map<?, ?> map;

    JsonConfig(String file, String prefix, Map<?, ?> map) {
        this.file = file;
        this.prefix = prefix;
        this.map = map;
    }

    static JsonConfig read(Path path) {
        String text;
        try {
            if (Files.size(path) > MAX_CONFIG_BYTES) {
                throw new ConfigException(path + ": config file is implausibly large (" + Files.size(path) + " bytes)");
            }
            text = Files.readString(path, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException(path + ": file not found", e);
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new ConfigException(path + ": cannot read: " + e.getMessage(), e);
        }
        Object root;
        try {
            root = Json.parse(text);
        } catch (Json.JsonException e) {
            throw new ConfigException(path + ": " + e.getMessage(), e);
        }
        if (!(root instanceof Map<?, ?> m)) {
            throw new ConfigException(path + ": top level is not a JSON object");
        }
        return new JsonConfig(path.toString(), "", m);
    }

    ConfigException error(String key, String what) {
        return new ConfigException(file + ": key '" + prefix + key + "' " + what);
    }

    boolean has(String key) {
        return map.get(key) != null;
    }

    JsonConfig object(String key) {
        Object v = map.get(key);
        if (v == null) {
            return new JsonConfig(file, prefix + key + ".", Map.of());
        }
        if (!(v instanceof Map<?, ?> m)) {
            throw error(key, "must be an object");
        }
        return new JsonConfig(file, prefix + key + ".", m);
    }

    String string(String key, String dflt) {
        Object v = map.get(key);
        if (v == null) {
            if (dflt == null) {
                throw error(key, "is required");
            }
            return dflt;
        }
        if (!(v instanceof String s)) {
            throw error(key, "must be a string, got " + v);
        }
        return s;
    }

    int integer(String key, Integer dflt) {
        return integer(key, dflt, 0, Integer.MAX_VALUE);
    }

    int integer(String key, Integer dflt, int min, int max) {
        Object v = map.get(key);
        if (v == null) {
            if (dflt == null) {
                throw error(key, "is required");
            }
            return dflt;
        }
        long l;
        if (v instanceof Long x) {
            l = x;
        } else if (v instanceof Double d && d == Math.rint(d) && Math.abs(d) < 1e15) {
            l = d.longValue();
        } else {
            throw error(key, "must be an integer, got " + v);
        }
        if (l < min || l > max) {
            throw error(key, "is " + l + ", outside [" + min + ", " + max + "]");
        }
        return (int) l;
    }

    double number(String key, double dflt) {
        Object v = map.get(key);
        if (v == null) {
            return dflt;
        }
        if (v instanceof Number n && Double.isFinite(n.doubleValue())) {
            return n.doubleValue();
        }
        throw error(key, "must be a number, got " + v);
    }

    /** A number that may also be JSON null (meaning "off"); absent means {@code dflt}. */
    double optionalNumber(String key, double dflt, double ifNull) {
        if (!map.containsKey(key)) {
            return dflt;
        }
        Object v = map.get(key);
        if (v == null) {
            return ifNull;
        }
        return number(key, dflt);
    }

    boolean bool(String key, boolean dflt) {
        Object v = map.get(key);
        if (v == null) {
            return dflt;
        }
        if (!(v instanceof Boolean b)) {
            throw error(key, "must be true or false, got " + v);
        }
        return b;
    }

    /** An integer or a list of integers ({@code eos_token_id} takes both forms). */
    int[] integers(String key) {
        Object v = map.get(key);
        if (v == null) {
            return new int[0];
        }
        if (v instanceof List<?> list) {
            if (list.size() > 1024) {
                throw error(key, "lists too many ids");
            }
            int[] out = new int[list.size()];
            for (int i = 0; i < out.length; i++) {
                if (!(list.get(i) instanceof Long l) || l < 0 || l > Integer.MAX_VALUE) {
                    throw error(key, "must hold non-negative integers, got " + list.get(i));
                }
                out[i] = (int) (long) l;
            }
            return out;
        }
        return new int[] {integer(key, null)};
    }

    float[] floats(String key, float[] dflt) {
        Object v = map.get(key);
        if (v == null) {
            return dflt.clone();
        }
        if (v instanceof Number n) {
            float[] out = new float[dflt.length];
            java.util.Arrays.fill(out, n.floatValue());
            return out;
        }
        if (!(v instanceof List<?> list) || list.size() != dflt.length) {
            throw error(key, "must be a list of " + dflt.length + " numbers");
        }
        float[] out = new float[dflt.length];
        for (int i = 0; i < out.length; i++) {
            if (!(list.get(i) instanceof Number n)) {
                throw error(key, "must hold numbers, got " + list.get(i));
            }
            out[i] = n.floatValue();
        }
        return out;
    }
}
