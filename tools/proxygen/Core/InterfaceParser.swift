// Reads interface protocols from Swift source with SwiftParser and checks that every
// method can cross a domain boundary.
//
// The rules (docs/DOMAINS.md, "What may cross"). Each is checked here and a signature
// that breaks one is rejected with its file and line, rather than later by the compiler
// in generated code:
//
//  1. An interface is a protocol of methods only (no properties, associated types,
//     subscripts, initializers or nested types). It inherits nothing and is not
//     generic; its name is unique among all interfaces.
//  2. Method names are unique within their interface: a call carries the method's
//     number (its position, from 0), and overloads could not be told apart.
//  3. A method is not generic, not async, and has no modifiers (static, mutating...).
//  4. A method returns `Result<T, RpcError>` or is `throws(RpcError) -> T`, not both:
//     a call can always fail, and only RpcError crosses (no untyped throws, no other
//     error type).
//  5. A parameter is not variadic, not `inout` (a call cannot write back into the
//     caller's memory: return the new value), has no default value and no attributes,
//     and is not named like the generated code's own variables (`reservedNames`).
//  6. An RRef, RRefArray or RRefDeque parameter says `consuming` (moved to the callee)
//     or `borrowing` (lent for the call); an RRefDeque can only be moved, since a
//     borrower could take elements out of it. No other parameter has an ownership
//     modifier. These cross on their own, not inside an optional or a tuple.
//  7. Every other parameter and result is plain data: not String, Array, Dictionary,
//     Set, a closure, `any`/`some`, Any or AnyObject (they hold heap memory or code).
//     An interface crosses as its proxy (`GreeterProxy`), never as the protocol. The
//     compiler checks the rest: the generated argument structs are BitwiseCopyable.
//  8. A method whose doc comment has a line `/// - Idempotent: <why>` may be retried
//     by the shadow (CodeGenerator) after a restart. A method that moves an RRef (or an
//     RRefArray or RRefDeque) cannot be: the first try consumed it.
//  9. Nothing that crosses holds an address (PlainData.swift): no StaticString,
//     ObjectIdentifier, Unsafe* or OpaquePointer, metatype, class, RRefTransfer or
//     InterfaceHandle, and no Never, as a parameter, a result, an RRef's payload, or in
//     any field or case of the interfaces' own structs and enums that cross.
import SwiftParser
import SwiftSyntax

public enum InterfaceParser {
  /// The interfaces declared in `files` (path and source each), in file order.
  /// Parameters may refer to an interface of any file, as `<Name>Proxy`.
  public static func parse(
    files: [(path: String, source: String)]
  ) throws(GeneratorError) -> [Interface] {
    let names = Set(files.flatMap { protocolNames(in: $0.source) })
    let types = TypeTable(files: files)
    var interfaces: [Interface] = []
    for file in files {
      for interface in try parse(
        source: file.source, file: file.path, interfaceNames: names, types: types)
      {
        if let earlier = interfaces.first(where: { $0.name == interface.name }) {
          throw GeneratorError(
            file: file.path, line: interface.line,
            reason: "interface '\(interface.name)' is declared in \(earlier.file) already")
        }
        interfaces.append(interface)
      }
    }
    return interfaces
  }

  /// The interfaces declared in `source`; `interfaceNames` lets parameters refer to
  /// interfaces declared in other files (as `<Name>Proxy`), and `types` to the types
  /// they declare (rule 9 looks into them; by default, those of `source`).
  public static func parse(
    source: String, file: String, interfaceNames: Set<String> = [], types: TypeTable? = nil
  ) throws(GeneratorError) -> [Interface] {
    let tree = Parser.parse(source: source)
    let converter = SourceLocationConverter(fileName: file, tree: tree)
    let types = types ?? TypeTable(files: [(file, source)])
    var interfaces: [Interface] = []
    for statement in tree.statements {
      guard let declaration = statement.item.as(ProtocolDeclSyntax.self) else { continue }
      var known = interfaceNames
      known.insert(declaration.name.text)
      let reader = Reader(
        file: file, converter: converter, interfaceNames: known,
        addresses: AddressCheck(types: types))
      interfaces.append(try reader.interface(declaration))
    }
    return interfaces
  }

  /// The names of the protocols in `source`, for the first pass over all files.
  public static func protocolNames(in source: String) -> [String] {
    Parser.parse(source: source).statements.compactMap {
      $0.item.as(ProtocolDeclSyntax.self)?.name.text
    }
  }

  /// Names the generated proxies, shadows and entry points give their own variables
  /// (CodeGenerator): a parameter with one of them would be shadowed by it.
  public static let reservedNames: Set<String> = [
    "arguments", "error", "method", "outcome", "result", "service",
  ]

  /// Types known not to be plain data, with why; the compiler checks the rest
  /// (the generated argument structs are BitwiseCopyable).
  static let notPlainData: [String: String] = [
    "String": "holds heap memory", "Array": "holds heap memory", "Dictionary": "holds heap memory",
    "Set": "holds heap memory", "Substring": "holds heap memory",
    "AnyObject": "is a class reference",
    "Any": "is an existential",
  ]
}

/// Reads the protocols of one file: knows the file, for messages, and the names of all
/// interfaces, to tell a proxy from plain data.
private struct Reader {
  let file: String
  let converter: SourceLocationConverter
  let interfaceNames: Set<String>
  let addresses: AddressCheck

  /// Rule 9: throws if `type` holds an address.
  func checkAddresses(
    _ type: TypeSyntax, fail: (String) -> GeneratorError
  ) throws(GeneratorError) {
    if let problem = addresses.problem(type) {
      throw fail("\(problem): what crosses holds no address")
    }
  }

  func fail(_ node: some SyntaxProtocol, _ reason: String) -> GeneratorError {
    fail(line: node.startLocation(converter: converter, afterLeadingTrivia: true).line, reason)
  }

  func fail(line: Int, _ reason: String) -> GeneratorError {
    GeneratorError(file: file, line: line, reason: reason)
  }

  // Rules 1 and 2.
  func interface(_ declaration: ProtocolDeclSyntax) throws(GeneratorError) -> Interface {
    let name = declaration.name.text
    if let inheritance = declaration.inheritanceClause {
      throw fail(
        inheritance,
        "interface '\(name)' may not inherit (\(inheritance.inheritedTypes.trimmedDescription)): interfaces are flat"
      )
    }
    if declaration.genericWhereClause != nil || declaration.primaryAssociatedTypeClause != nil {
      throw fail(declaration, "interface '\(name)' may not be generic")
    }
    var methods: [Method] = []
    for member in declaration.memberBlock.members {
      guard let function = member.decl.as(FunctionDeclSyntax.self) else {
        throw fail(
          member,
          "interface '\(name)' may declare methods only, not '\(member.decl.trimmedDescription.prefix(40))'"
        )
      }
      let method = try self.method(function, index: methods.count, interface: name)
      if methods.contains(where: { $0.name == method.name }) {
        throw fail(
          function,
          "interface '\(name)' declares '\(method.name)' twice: overloads cannot be told apart by number"
        )
      }
      methods.append(method)
    }
    let line = declaration.startLocation(converter: converter, afterLeadingTrivia: true).line
    return Interface(name: name, methods: methods, file: file, line: line)
  }

  // Rules 3, 4 and 8; parameters and results below.
  func method(
    _ function: FunctionDeclSyntax, index: Int, interface: String
  ) throws(GeneratorError) -> Method {
    let name = function.name.text
    let place = "\(interface).\(name)"
    if function.genericParameterClause != nil || function.genericWhereClause != nil {
      throw fail(function, "\(place) may not be generic")
    }
    if !function.modifiers.isEmpty {
      throw fail(function, "\(place) may not be '\(function.modifiers.trimmedDescription)'")
    }
    let effects = function.signature.effectSpecifiers
    if effects?.asyncSpecifier != nil {
      throw fail(function, "\(place) may not be async: a call runs to its end or fails")
    }
    var throwsRpcError = false
    if let throwsClause = effects?.throwsClause {
      if throwsClause.throwsSpecifier.tokenKind != .keyword(.throws) {
        throw fail(function, "\(place) may not rethrow: write 'throws(RpcError)'")
      }
      guard let type = throwsClause.type?.trimmedDescription else {
        throw fail(
          function, "\(place) has untyped throws, which cannot cross: write 'throws(RpcError)'")
      }
      guard type == "RpcError" else {
        throw fail(
          function, "\(place) throws \(type): only RpcError crosses; write 'throws(RpcError)'")
      }
      throwsRpcError = true
    }

    var parameters: [Parameter] = []
    for parameter in function.signature.parameterClause.parameters {
      parameters.append(try self.parameter(parameter, place: place))
    }
    let (resultType, resultKind) = try result(
      function, throwsRpcError: throwsRpcError, place: place)
    let isIdempotent = try idempotentMarker(function, parameters: parameters, place: place)
    return Method(
      name: name, index: index, parameters: parameters, resultType: resultType,
      resultKind: resultKind, throwsRpcError: throwsRpcError, isIdempotent: isIdempotent)
  }

  // Rules 5 and 6.
  func parameter(
    _ parameter: FunctionParameterSyntax, place: String
  ) throws(GeneratorError) -> Parameter {
    let label = parameter.firstName.text == "_" ? nil : parameter.firstName.text
    let name = parameter.secondName?.text ?? parameter.firstName.text
    let place = "\(place): parameter '\(name)'"
    if parameter.ellipsis != nil {
      throw fail(parameter, "\(place) may not be variadic")
    }
    if parameter.defaultValue != nil {
      throw fail(parameter, "\(place) may not have a default value: callers pass every argument")
    }
    if InterfaceParser.reservedNames.contains(name) {
      throw fail(
        parameter,
        "\(place) has a name the generated code uses for its own variables (\(InterfaceParser.reservedNames.sorted().joined(separator: ", "))): choose another"
      )
    }
    var type = parameter.type
    var ownership: String?
    if let attributed = type.as(AttributedTypeSyntax.self) {
      if !attributed.attributes.isEmpty {
        throw fail(parameter, "\(place) may not have attributes")
      }
      ownership = attributed.specifiers.trimmedDescription
      type = attributed.baseType
    }
    if ownership == "inout" {
      throw fail(
        parameter,
        "\(place) may not be inout: a call cannot write into the caller's memory; return the new value (or lend an RRef)"
      )
    }
    try checkAddresses(type) { reason in fail(parameter, "\(place) \(reason)") }
    if let shared = try sharedObject(
      type, fail: { reason in fail(parameter, "\(place) \(reason)") })
    {
      switch ownership {
      case "consuming":
        return Parameter(
          label: label, name: name, type: type.trimmedDescription,
          kind: .movedRRef(payload: shared.payload))
      case "borrowing" where shared.container == "RRefDeque":
        throw fail(
          parameter,
          "\(place) is an RRefDeque, which can be moved ('consuming') but not lent: a borrower could take its elements out; move it and return it"
        )
      case "borrowing":
        return Parameter(
          label: label, name: name, type: type.trimmedDescription,
          kind: .borrowedRRef(payload: shared.payload))
      default:
        let choices =
          shared.container == "RRefDeque"
          ? "'consuming' (move it to the callee)"
          : "'consuming' (move it to the callee) or 'borrowing' (lend it for the call)"
        throw fail(parameter, "\(place) is an \(shared.container), so it must say \(choices)")
      }
    }
    if let ownership {
      throw fail(
        parameter,
        "\(place) is '\(ownership)', which only RRef, RRefArray and RRefDeque parameters may be")
    }
    let kind = try crossingKind(of: type) { reason in fail(parameter, "\(place) \(reason)") }
    return Parameter(label: label, name: name, type: type.trimmedDescription, kind: kind)
  }

  /// The success type and how it crosses (rules 4, 6 and 7).
  func result(
    _ function: FunctionDeclSyntax, throwsRpcError: Bool, place: String
  ) throws(GeneratorError) -> (String, CrossingKind) {
    guard let returnClause = function.signature.returnClause else {
      if throwsRpcError { return ("Void", .value) }
      throw fail(
        function,
        "\(place) must return Result<T, RpcError> or be throws(RpcError): a call can always fail")
    }
    var success = returnClause.type
    let result = resultArguments(success)
    if throwsRpcError {
      if result != nil {
        throw fail(
          returnClause,
          "\(place) both throws and returns a Result: choose one (throws(RpcError) -> T or -> Result<T, RpcError>)"
        )
      }
    } else {
      guard let (value, failure) = result, failure.trimmedDescription == "RpcError" else {
        throw fail(
          returnClause,
          "\(place) must return Result<T, RpcError>, not \(returnClause.type.trimmedDescription)")
      }
      success = value
    }
    let text = success.trimmedDescription
    if text == "Void" || text == "()" { return ("Void", .value) }
    let resultFail = { (reason: String) in fail(returnClause, "\(place): its result \(reason)") }
    try checkAddresses(success, fail: resultFail)
    if let shared = try sharedObject(success, fail: resultFail) {
      return (text, .movedRRef(payload: shared.payload))
    }
    let kind = try crossingKind(of: success) { reason in
      fail(returnClause, "\(place): its result \(reason)")
    }
    return (text, kind)
  }

  /// The success and failure types of `Result<Success, Failure>`, or nil.
  func resultArguments(_ type: TypeSyntax) -> (TypeSyntax, TypeSyntax)? {
    guard let identifier = type.as(IdentifierTypeSyntax.self), identifier.name.text == "Result",
      let arguments = identifier.genericArgumentClause?.arguments, arguments.count == 2,
      let success = arguments.first?.argument.as(TypeSyntax.self),
      let failure = arguments.last?.argument.as(TypeSyntax.self)
    else { return nil }
    return (success, failure)
  }

  /// The shared-heap types that cross on their own, and how many type arguments each
  /// takes: the payload, and for the collections their capacity.
  static let sharedObjects = ["RRef": 1, "RRefArray": 2, "RRefDeque": 2]

  /// Which shared-heap type `type` is (`RRef<T>`, `RRefArray<T, N>`, `RRefDeque<T, N>`)
  /// and its payload type `T`; nil for any other type.
  func sharedObject(
    _ type: TypeSyntax, fail: (String) -> GeneratorError
  ) throws(GeneratorError) -> (container: String, payload: String)? {
    guard let identifier = type.as(IdentifierTypeSyntax.self),
      let count = Reader.sharedObjects[identifier.name.text]
    else { return nil }
    let container = identifier.name.text
    let arguments = identifier.genericArgumentClause?.arguments.map(\.argument) ?? []
    guard arguments.count == count, let payload = arguments.first?.trimmedDescription else {
      let form = count == 1 ? "\(container)<T>" : "\(container)<T, N>"
      throw fail("is \(type.trimmedDescription): write \(form)")
    }
    return (container, payload)
  }

  // Rules 6 and 7, for a type that is not an RRef (or RRefArray, RRefDeque) at the top.
  func crossingKind(
    of type: TypeSyntax, fail: (String) -> GeneratorError
  ) throws(GeneratorError) -> CrossingKind {
    if type.is(FunctionTypeSyntax.self) {
      throw fail("is a function: code cannot cross, only data")
    }
    if type.is(SomeOrAnyTypeSyntax.self) {
      throw fail("is an existential or opaque type: only concrete plain data crosses")
    }
    if type.is(ArrayTypeSyntax.self) || type.is(DictionaryTypeSyntax.self) {
      throw fail("is a collection, which holds heap memory: use an RRef")
    }
    if let optional = type.as(OptionalTypeSyntax.self) {
      _ = try crossingKind(of: optional.wrappedType, fail: fail)
      return .value
    }
    if let implicit = type.as(ImplicitlyUnwrappedOptionalTypeSyntax.self) {
      throw fail(
        "is an implicitly unwrapped optional (\(implicit.trimmedDescription)): write an optional")
    }
    if let tuple = type.as(TupleTypeSyntax.self) {
      for element in tuple.elements {
        _ = try crossingKind(of: element.type, fail: fail)
      }
      return .value
    }
    guard let identifier = type.as(IdentifierTypeSyntax.self) else { return .value }
    let name = identifier.name.text
    if let why = InterfaceParser.notPlainData[name] {
      throw fail("is \(name), which \(why): use plain data or an RRef")
    }
    if interfaceNames.contains(name) {
      throw fail("is the protocol \(name): pass its proxy, \(name)Proxy")
    }
    if name.hasSuffix("Proxy"), interfaceNames.contains(String(name.dropLast(5))) {
      return .interface(String(name.dropLast(5)))
    }
    if Reader.sharedObjects[name] != nil {
      throw fail("holds an \(name) inside another type: an \(name) crosses on its own")
    }
    // Optional<String>, InlineArray<4, Letter>: the type arguments cross too.
    for argument in identifier.genericArgumentClause?.arguments ?? [] {
      if let type = argument.argument.as(TypeSyntax.self) {
        _ = try crossingKind(of: type, fail: fail)
      }
    }
    return .value
  }

  /// Whether the doc comment marks the method idempotent (rule 8); a malformed marker
  /// is an error rather than silently no marker.
  func idempotentMarker(
    _ function: FunctionDeclSyntax, parameters: [Parameter], place: String
  ) throws(GeneratorError) -> Bool {
    var position = function.position
    var markerLine: Int?
    for piece in function.leadingTrivia {
      defer { position = position.advanced(by: piece.sourceLength.utf8Length) }
      let lines: [Substring]
      switch piece {
      case .docLineComment(let text): lines = [text.dropFirst(3)]
      case .docBlockComment(let text):
        lines = text.dropFirst(3).dropLast(2).split(
          separator: "\n", omittingEmptySubsequences: false)
      default: continue
      }
      let firstLine = converter.location(for: position).line
      for (offset, line) in lines.enumerated() {
        let words = line.drop(while: { $0 == " " || $0 == "*" })
        guard words.lowercased().hasPrefix("- idempotent") else { continue }
        let here = firstLine + offset
        let reason = words.dropFirst("- idempotent".count)
        guard words.hasPrefix("- Idempotent"), reason.first == ":",
          !reason.dropFirst().allSatisfy(\.isWhitespace)
        else {
          throw fail(
            line: here,
            "\(place): write the marker as '- Idempotent: <why calling it twice is harmless>'")
        }
        markerLine = here
      }
    }
    guard let markerLine else { return false }
    for parameter in parameters {
      if case .movedRRef = parameter.kind {
        throw fail(
          line: markerLine,
          "\(place) is marked Idempotent but moves the \(parameter.type.prefix { $0 != "<" }) '\(parameter.name)': the first try consumes it, so the call can never be retried"
        )
      }
    }
    return true
  }
}
