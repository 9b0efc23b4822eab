package org.sinetstream.kafka.connect.s3;

import java.util.ArrayList;
import java.util.List;

/**
 * The few JSON shapes verify needs: Connect's REST answers (flat objects and lists of strings)
 * and the plan it hands the engine; not worth a JSON library in the plugin.
 */
final class Json {
  private Json() {}

  static String string(String text) {
    return quote(new StringBuilder(), text).toString();
  }

  private static StringBuilder quote(StringBuilder out, String text) {
    out.append('"');
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append('"');
  }

  /** Every string of `json`, in order: the items of a list of strings. */
  static List<String> strings(String json) {
    List<String> strings = new ArrayList<>();
    int i = 0;
    while ((i = json.indexOf('"', i)) >= 0) {
      StringBuilder text = new StringBuilder();
      i = readString(json, i + 1, text);
      strings.add(text.toString());
    }
    return strings;
  }

  /**
   * Consecutive pairs of strings: the engine's answer to validate (an array of [key, message]
   * pairs), or a flat object of strings such as a connector's configuration.
   */
  static List<String[]> pairsOfStrings(String json) {
    List<String> strings = strings(json);
    List<String[]> pairs = new ArrayList<>();
    for (int k = 0; k + 1 < strings.size(); k += 2) {
      pairs.add(new String[] {strings.get(k), strings.get(k + 1)});
    }
    return pairs;
  }

  /** Reads a string body starting after its opening quote; returns the index after the closing one. */
  private static int readString(String json, int start, StringBuilder text) {
    int i = start;
    while (i < json.length()) {
      char c = json.charAt(i++);
      if (c == '"') {
        return i;
      }
      if (c != '\\') {
        text.append(c);
        continue;
      }
      char escaped = json.charAt(i++);
      switch (escaped) {
        case 'n': text.append('\n'); break;
        case 't': text.append('\t'); break;
        case 'r': text.append('\r'); break;
        case 'b': text.append('\b'); break;
        case 'f': text.append('\f'); break;
        case 'u':
          text.append((char) Integer.parseInt(json.substring(i, i + 4), 16));
          i += 4;
          break;
        default: text.append(escaped);
      }
    }
    return i;
  }
}
