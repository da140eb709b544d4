// The same read, acknowledged with `unsafe`: the compiler accepts it, the lint does not.

func peek(_ byte: UnsafePointer<UInt8>) -> UInt8 {
  return unsafe byte.pointee
}
