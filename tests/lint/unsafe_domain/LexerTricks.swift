// Attempts to hide code from the lint: in inactive #if blocks the compiler reads regex
// literals where a lexer that knows no regex reads a comment or a string opening, and
// so would miss the code that follows. All of this compiles.

func hidden(_ byte: UnsafePointer<UInt8>) -> UInt8 {
  #if false
    let opener = /a\/*b/
  #endif
  let first = unsafe byte.pointee
  #if false
    let closer = /c*/
  #endif
  #if false
    let opener2 = #/
      """
      /#
  #endif
  let second = unsafe byte[1]
  #if false
    let closer2 = #/
      """
      /#
  #endif
  return first &+ second
}

// A backquoted name may hold a comment opener.
func `a/*b`() -> UInt8 { 0 }
func visible(_ byte: UnsafePointer<UInt8>) -> UInt8 { unsafe byte.pointee &+ `a/*b`() }
// */
