/// What a register holds: a word of `Word`'s width, seen through named fields.
///
/// A register's layout is declared once, as a type conforming to this protocol and its
/// fields (`Field`, `Flag`) declared as static members with their bits and access:
///
///     public struct InterruptCause: RegisterValue {
///       public var raw: UInt32
///       public init(raw: UInt32) { self.raw = raw }
///       public static var writeOneToClearBits: UInt32 { 0b110 }
///     }
///     extension Flag where Value == InterruptCause, Access == ReadWrite {
///       public static var enable: Self { Flag(bit: 0) }
///     }
///     extension Flag where Value == InterruptCause, Access == WriteOneToClear {
///       public static var linkChanged: Self { Flag(bit: 1) }
///       public static var overrun: Self { Flag(bit: 2) }
///     }
///
/// Then `cause[.linkChanged]` reads a flag, `cause[.enable] = true` sets one, and
/// `cause[.linkChanged] = false` does not compile: only a register's `clear` writes a
/// write-1-to-clear bit. Plain integers (`UInt32`, ...) are values with no fields.
///
/// The two masks tell the registers which bits must never be written back as read:
/// write-1-to-clear bits (writing back a 1 read would clear it) and write-only bits
/// (what reads back is not what was written, and writing it may start an action).
/// Declaring a field of either kind outside its mask, or of another kind inside one,
/// stops the program when the field is made, so a wrong mask shows at once in a test.
public protocol RegisterValue {
  associatedtype Word: RegisterWord
  /// The register's bits, as read or as they will be written.
  var raw: Word { get set }
  init(raw: Word)
  /// The bits of the write-1-to-clear fields; 0 unless declared.
  static var writeOneToClearBits: Word { get }
  /// The bits of the write-only fields; 0 unless declared.
  static var writeOnlyBits: Word { get }
}

extension RegisterValue {
  @inlinable public static var writeOneToClearBits: Word { 0 }
  @inlinable public static var writeOnlyBits: Word { 0 }

  /// The bits a plain write sends: write-1-to-clear bits as 0, so that nothing is
  /// cleared by accident.
  @inlinable var rawForWrite: Word { raw & ~Self.writeOneToClearBits }

  /// The bits a read-modify-write may keep from what it read: not the write-1-to-clear
  /// bits (that would clear them), nor the write-only ones (they read back as anything).
  @inlinable static var preservedOnModify: Word {
    ~(writeOneToClearBits | writeOnlyBits)
  }
}
