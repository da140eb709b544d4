// Code inside a string interpolation is code; the text around it is not.

func describe(_ byte: UnsafePointer<UInt8>) -> String {
  let plain = "value \(unsafe byte.pointee)"
  let nested = "outer \("inner \(unsafe byte.pointee)")"
  let raw = #"raw \#(unsafe byte.pointee), while \(unsafe byte) is text"#
  let multi = """
    unsafe and UnsafePointer are text here, but
    \(unsafe byte[1]) is code
    """
  let rawMulti = #"""
    \#(unsafe byte[2]) is code, "\(unsafe)" is text
    """#
  return plain + nested + raw + multi + rawMulti
}
