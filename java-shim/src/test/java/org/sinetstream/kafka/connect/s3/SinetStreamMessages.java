package org.sinetstream.kafka.connect.s3;

import java.io.ByteArrayOutputStream;

/** Builds SINETStream v3 messages (plain Avro single-object body) for tests. */
final class SinetStreamMessages {
  private static final byte[] HEADER = {(byte) 0xDF, 0x03, 0x00, 0x00, 0x00, 0x00};
  private static final byte[] AVRO_SINGLE_OBJECT = {
    (byte) 0xC3, 0x01, 0x1F, (byte) 0x9C, 0x0C, (byte) 0x91, (byte) 0xEB, 0x33, 0x66, 0x4F
  };

  private SinetStreamMessages() {}

  static byte[] v3(long sendTimeMicros, byte[] payload) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(HEADER, 0, HEADER.length);
    out.write(AVRO_SINGLE_OBJECT, 0, AVRO_SINGLE_OBJECT.length);
    writeLong(out, sendTimeMicros);
    writeLong(out, payload.length);
    out.write(payload, 0, payload.length);
    return out.toByteArray();
  }

  private static void writeLong(ByteArrayOutputStream out, long value) {
    long zigzag = (value << 1) ^ (value >> 63);
    while ((zigzag & ~0x7FL) != 0) {
      out.write((int) ((zigzag & 0x7F) | 0x80));
      zigzag >>>= 7;
    }
    out.write((int) zigzag);
  }
}
