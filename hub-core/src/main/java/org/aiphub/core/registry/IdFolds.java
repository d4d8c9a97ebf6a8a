package org.aiphub.core.registry;

import java.util.List;
import java.util.Locale;

/**
 * When two <em>different</em> client ids are too alike to be told apart, so that only one of them
 * may be online (or reserved) at a time. Each id has one or more fold keys; two ids collide when
 * they share a key. The registry keeps an index of the keys of every online client (mirrored ones
 * included) and of every id the device config protects with a {@code token_sha256}, and takes the
 * lock of each key while it registers or removes a client, so two look-alikes registering at once
 * cannot both win.
 *
 * <p>Implementations must be pure (same id, same keys), thread-safe and cheap: they run once per
 * registration and removal, never per message.
 */
@FunctionalInterface
public interface IdFolds {
  /** Ids that differ only in letter case collide ({@code Device-1}, {@code DEVICE-1}). */
  IdFolds CASE_INSENSITIVE = id -> List.of(id.toLowerCase(Locale.ROOT));

  /**
   * The fold keys of {@code id}: non-empty, without duplicates. Equal ids have equal keys.
   *
   * @param id a client id in its stored (canonical) form
   */
  List<String> keys(String id);
}
