// Reads through a raw pointer without acknowledging it: the compiler rejects this.

func peek(_ byte: UnsafePointer<UInt8>) -> UInt8 {
  return byte.pointee
}
