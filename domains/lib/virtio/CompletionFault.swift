/// A device fault a driver acts out on purpose, for a fault campaign, as it takes a
/// completion from a used ring: the library makes the driver see what such a device
/// would show it, so the checks that catch a real device catch this one too.
public enum CompletionFault: Equatable, Sendable {
  /// The completion never comes: the driver takes the used entry and forgets it, so its
  /// buffer stays at the device as far as the driver knows, until a wait or a watchdog
  /// gives up on it and resets the device.
  case lost
  /// The device wrote a bogus id or length into the used entry
  /// (`VirtQueue.corruptNextUsed`), which the driver refuses as a protocol breach, and
  /// resets the device.
  case bogus
}
