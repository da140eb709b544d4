// Rule 9 of the interfaces: what crosses as plain data holds no address.
//
// The compiler checks that what crosses is BitwiseCopyable (rule 7), but some
// BitwiseCopyable types are addresses: a StaticString points into the sender's image,
// an ObjectIdentifier is an object's address, an Unsafe*Pointer or OpaquePointer is a
// raw pointer, a metatype is a type's address, an RRefTransfer or InterfaceHandle is a
// raw reference the trusted library alone may make. Received, any of them lets the
// receiver read (or write) memory that is not its own, or stay pointing into a sender
// that is gone. `Never` has no values: a method cannot return one, and a value slot of
// it cannot be read. So these are refused wherever they would cross: as a parameter, a
// result, the payload of an RRef (RRefArray, RRefDeque), and in any field or case of a
// struct or enum of the interfaces, or behind a typealias of theirs, that crosses.
import SwiftParser
import SwiftSyntax

/// The types declared at any depth in the interface files, by name: what rule 9 looks
/// into when one of them crosses.
public struct TypeTable: Sendable {
  struct Declaration: Sendable {
    enum Kind: Sendable { case structure, enumeration, reference, alias, other }
    var kind: Kind
    var file: String
    var line: Int
    /// The types of a struct's stored properties or an enum's associated values, or a
    /// typealias's target, each with its name and line for messages.
    var members: [(name: String, type: TypeSyntax, line: Int)]
    /// A stored property whose type is not written out, which rule 9 cannot check.
    var untyped: (name: String, line: Int)?
  }

  var declarations: [String: Declaration] = [:]

  public init() {}

  /// The type declarations of `files` (path and source).
  public init(files: [(path: String, source: String)]) {
    for file in files { add(source: file.source, file: file.path) }
  }

  mutating func add(source: String, file: String) {
    let tree = Parser.parse(source: source)
    let converter = SourceLocationConverter(fileName: file, tree: tree)
    let collector = TypeCollector(file: file, converter: converter)
    collector.walk(tree)
    for (name, declaration) in collector.found where declarations[name] == nil {
      declarations[name] = declaration
    }
  }
}

/// Walks a file's syntax tree for type declarations, nested ones too.
private final class TypeCollector: SyntaxVisitor {
  let file: String
  let converter: SourceLocationConverter
  var found: [(String, TypeTable.Declaration)] = []

  init(file: String, converter: SourceLocationConverter) {
    self.file = file
    self.converter = converter
    super.init(viewMode: .sourceAccurate)
  }

  func line(_ node: some SyntaxProtocol) -> Int {
    node.startLocation(converter: converter, afterLeadingTrivia: true).line
  }

  func record(
    _ name: String, _ kind: TypeTable.Declaration.Kind, _ node: some SyntaxProtocol,
    members: [(name: String, type: TypeSyntax, line: Int)] = [],
    untyped: (name: String, line: Int)? = nil
  ) {
    found.append(
      (
        name,
        TypeTable.Declaration(
          kind: kind, file: file, line: line(node), members: members, untyped: untyped)
      ))
  }

  override func visit(_ node: StructDeclSyntax) -> SyntaxVisitorContinueKind {
    var members: [(name: String, type: TypeSyntax, line: Int)] = []
    var untyped: (name: String, line: Int)?
    for member in node.memberBlock.members {
      guard let variable = member.decl.as(VariableDeclSyntax.self),
        !variable.modifiers.contains(where: { ["static", "class"].contains($0.name.text) })
      else { continue }
      for binding in variable.bindings where isStored(binding) {
        let name = binding.pattern.trimmedDescription
        if let type = binding.typeAnnotation?.type {
          members.append((name, type, line(binding)))
        } else if untyped == nil {
          untyped = (name, line(binding))
        }
      }
    }
    record(node.name.text, .structure, node, members: members, untyped: untyped)
    return .visitChildren
  }

  /// A binding with no accessors, or only observers, is stored.
  func isStored(_ binding: PatternBindingSyntax) -> Bool {
    guard let accessors = binding.accessorBlock?.accessors else { return true }
    guard let list = accessors.as(AccessorDeclListSyntax.self) else { return false }
    return list.allSatisfy { ["willSet", "didSet"].contains($0.accessorSpecifier.text) }
  }

  override func visit(_ node: EnumDeclSyntax) -> SyntaxVisitorContinueKind {
    var members: [(name: String, type: TypeSyntax, line: Int)] = []
    for member in node.memberBlock.members {
      guard let cases = member.decl.as(EnumCaseDeclSyntax.self) else { continue }
      for element in cases.elements {
        for parameter in element.parameterClause?.parameters ?? [] {
          members.append((element.name.text, parameter.type, line(element)))
        }
      }
    }
    record(node.name.text, .enumeration, node, members: members)
    return .visitChildren
  }

  override func visit(_ node: ClassDeclSyntax) -> SyntaxVisitorContinueKind {
    record(node.name.text, .reference, node)
    return .visitChildren
  }

  override func visit(_ node: ActorDeclSyntax) -> SyntaxVisitorContinueKind {
    record(node.name.text, .reference, node)
    return .visitChildren
  }

  override func visit(_ node: TypeAliasDeclSyntax) -> SyntaxVisitorContinueKind {
    record(node.name.text, .alias, node, members: [("", node.initializer.value, line(node))])
    return .skipChildren
  }
}

extension InterfaceParser {
  /// Types that are addresses, with what they point at (rule 9).
  static let addresses: [String: String] = [
    "StaticString": "points into the sender's image",
    "ObjectIdentifier": "is an object's address",
    "OpaquePointer": "is a raw pointer",
    "CVaListPointer": "is a raw pointer",
    "AutoreleasingUnsafeMutablePointer": "is a raw pointer",
    "Unmanaged": "is a class reference",
    "AnyClass": "is a class's address",
    "RRefTransfer":
      "is the trusted library's raw form of a shared-heap reference: pass the RRef itself",
    "InterfaceHandle": "is a raw export slot: pass the interface's proxy",
    "Span": "points into the sender's memory", "MutableSpan": "points into the sender's memory",
    "RawSpan": "points into the sender's memory",
    "MutableRawSpan": "points into the sender's memory",
    "UTF8Span": "points into the sender's memory",
    "Never": "has no values: a call must be able to answer",
  ]

  /// Why `name` is an address, if it is one (rule 9).
  static func address(_ name: String) -> String? {
    if let why = addresses[name] { return why }
    if name.hasPrefix("Unsafe") { return "is a raw pointer" }
    return nil
  }
}

/// Checks one type that crosses for addresses (rule 9), looking through the interfaces'
/// own structs, enums and typealiases.
struct AddressCheck {
  let types: TypeTable

  /// Why `type` may not cross, or nil if it holds no address. `visiting` breaks cycles
  /// (an enum that holds itself indirectly).
  func problem(_ type: TypeSyntax, visiting: Set<String> = []) -> String? {
    if type.is(MetatypeTypeSyntax.self) {
      return "is a metatype (\(type.trimmedDescription)), a type's address in the sender's image"
    }
    if let attributed = type.as(AttributedTypeSyntax.self) {
      if !attributed.attributes.isEmpty {
        return "has attributes (\(type.trimmedDescription)): a C function pointer is an address"
      }
      return problem(attributed.baseType, visiting: visiting)
    }
    if let optional = type.as(OptionalTypeSyntax.self) {
      return problem(optional.wrappedType, visiting: visiting)
    }
    if let tuple = type.as(TupleTypeSyntax.self) {
      return tuple.elements.lazy.compactMap { problem($0.type, visiting: visiting) }.first
    }
    if let array = type.as(ArrayTypeSyntax.self) {
      return problem(array.element, visiting: visiting)
    }
    let name: String
    let arguments: GenericArgumentListSyntax?
    if let identifier = type.as(IdentifierTypeSyntax.self) {
      name = identifier.name.text
      arguments = identifier.genericArgumentClause?.arguments
    } else if let member = type.as(MemberTypeSyntax.self) {
      name = member.name.text
      arguments = member.genericArgumentClause?.arguments
    } else {
      return nil
    }
    if let why = InterfaceParser.address(name) { return "is \(name), which \(why)" }
    for argument in arguments ?? [] {
      if let argumentType = argument.argument.as(TypeSyntax.self),
        let found = problem(argumentType, visiting: visiting)
      {
        return found
      }
    }
    guard let declaration = types.declarations[name], !visiting.contains(name) else { return nil }
    let place = "\(declaration.file):\(declaration.line)"
    switch declaration.kind {
    case .reference:
      return "is \(name) (\(place)), a class: a reference into the sender's heap"
    case .structure, .enumeration, .alias:
      if let untyped = declaration.untyped {
        return
          "is \(name) (\(place)), whose stored property '\(untyped.name)' does not write out its type, so it cannot be checked: write it"
      }
      for member in declaration.members {
        if let found = problem(member.type, visiting: visiting.union([name])) {
          let what =
            switch declaration.kind {
            case .alias: "which is an alias of a type that"
            case .enumeration:
              "whose case '\(member.name)' (line \(member.line)) holds a value that"
            default: "whose field '\(member.name)' (line \(member.line))"
            }
          return "is \(name) (\(place)), \(what) \(found)"
        }
      }
      return nil
    case .other:
      return nil
    }
  }
}
