// swift-format-ignore-file
// Reserved names and directives: what could take the generated glue's place or hide where code is.

enum SwiftletLib {}
struct Swift {}
typealias SwiftletInterfaces = Int
struct _Greeter_greet_Arguments { var padding: Int }
var _swiftletService = 0
func swiftletExport_Greeter_ping() -> Int { 0 }
let (kept, _hidden) = (1, 2)
class `Registers` {}
#sourceLocation(file: "domains/lib/RRef.swift", line: 1)
let transfer: RRefTransfer<Int>? = nil
let handle: InterfaceHandle? = nil
#sourceLocation()

// Fine: a wildcard, members and uses of the names, a keyword after `class`.
let _ = Swift.Int.max
final class Counter { class func make() -> Counter { Counter() } }
func swiftly(_ value: Int) -> Int { value + Swift.Int.zero }
