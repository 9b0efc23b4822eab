package org.sinetstream.kafka.connect.s3;

import org.apache.kafka.connect.errors.ConnectException;

/** The engine refused a setting; the message starts with the connector key to fix. */
public class NativeConfigException extends ConnectException {
  private static final long serialVersionUID = 1L;

  public NativeConfigException(String message) {
    super(message);
  }
}
