// How the loader learns the addresses of what an image imports.

/// Gives the address of each name the kernel exports to domains: its system interface.
/// The loader binds an image's undefined symbols only through this, so a name the
/// resolver does not know is an import outside the interface and a load error.
public protocol SymbolResolver {
  /// The address `name` is bound to, or nil if the kernel does not export it.
  func address(of name: String) -> UInt64?
}
