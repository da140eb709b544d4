// Standard-library escape hatches that a domain has no business using.

final class Box {}

func reinterpret(_ value: Int) -> UInt { unsafeBitCast(value, to: UInt.self) }
func unwrap(_ value: Int?) -> Int { value.unsafelyUnwrapped }
func downcast(_ object: AnyObject) -> Box { unsafeDowncast(object, to: Box.self) }
func retain(_ box: Box) -> Unmanaged<Box> { Unmanaged.passRetained(box) }
func handle() -> OpaquePointer? { nil }
func size(_ value: inout Int) -> Int { withUnsafeBytes(of: &value) { $0.count } }
func load(_ raw: UnsafeRawPointer) -> Int { raw.assumingMemoryBound(to: Int.self)[0] }
func bind(_ raw: UnsafeMutableRawPointer) { _ = raw.bindMemory(to: UInt8.self, capacity: 1) }
func widen(_ r: Range<Int>) -> Range<Int> { Range(uncheckedBounds: (r.upperBound, r.lowerBound)) }
func cast(_ box: Box) -> Box { _unsafeReferenceCast(box, to: Box.self) }

struct Window {
  var value: Int {
    unsafeAddress { fatalError() }
  }
}
