/// A register block: a device's registers at fixed offsets from a base in a window,
/// declared once as a struct of computed properties.
///
///     public struct Timer<Window: MemoryWindow>: RegisterBlock {
///       public static var byteCount: Int { 8 }
///       public let window: Window
///       public let base: Int
///       public init(window: Window, base: Int) { self.window = window; self.base = base }
///
///       public var control: ReadWriteRegister<Window, TimerControl> { register(at: 0x0) }
///       public var count: ReadOnlyRegister<Window, UInt32> { register(at: 0x4) }
///     }
///
/// Each property states the register's offset, width and fields (its value type) and
/// access (its register type). `Timer(fitting: window, at: 0x100)` checks that the
/// whole block lies inside the window, so a window too small for it is an error the
/// driver handles rather than a trap at the first register past its end.
public protocol RegisterBlock {
  associatedtype Window: MemoryWindow
  /// How many bytes of the window the block spans from `base`.
  static var byteCount: Int { get }
  var window: Window { get }
  var base: Int { get }
  init(window: Window, base: Int)
}

extension RegisterBlock {
  /// The block at `base` in `window`, or nil if it does not fit.
  @inlinable
  public init?(fitting window: Window, at base: Int = 0) {
    guard window.contains(offset: base, count: Self.byteCount) else { return nil }
    self.init(window: window, base: base)
  }

  /// The register at `offset` from the block's base; its type says its width, fields
  /// and access.
  @inlinable
  public func register<R: Register>(at offset: Int) -> R where R.Window == Window {
    R(window: window, offset: base + offset)
  }
}
