// Reads interface protocols from Swift source with SwiftParser and checks that every
// method can cross a domain boundary.
//
// The rules (docs/DOMAINS.md, "What may cross"): an interface is a protocol of methods
// only; each returns `Result<T, RpcError>` or is `throws(RpcError) -> T`; parameters
// and results are plain-data values, RRefs (parameters say `consuming` to move one
// and `borrowing` to lend it), or interface proxies. Anything else is rejected here
// with its file and line, rather than later by the compiler in generated code.
import SwiftParser
import SwiftSyntax

public enum InterfaceParser {
  /// The interfaces declared in `source`; `interfaceNames` lets parameters refer to
  /// interfaces declared in other files (as `<Name>Proxy`).
  public static func parse(
    source: String, file: String, interfaceNames: Set<String> = []
  ) throws(GeneratorError) -> [Interface] {
    let tree = Parser.parse(source: source)
    let converter = SourceLocationConverter(fileName: file, tree: tree)
    var interfaces: [Interface] = []
    for statement in tree.statements {
      guard let declaration = statement.item.as(ProtocolDeclSyntax.self) else { continue }
      var known = interfaceNames
      known.insert(declaration.name.text)
      interfaces.append(
        try parseProtocol(declaration, file: file, converter: converter, interfaceNames: known))
    }
    return interfaces
  }

  /// The names of the protocols in `source`, for the first pass over all files.
  public static func protocolNames(in source: String) -> [String] {
    Parser.parse(source: source).statements.compactMap {
      $0.item.as(ProtocolDeclSyntax.self)?.name.text
    }
  }

  private static func parseProtocol(
    _ declaration: ProtocolDeclSyntax, file: String, converter: SourceLocationConverter,
    interfaceNames: Set<String>
  ) throws(GeneratorError) -> Interface {
    let name = declaration.name.text
    func fail(_ node: some SyntaxProtocol, _ reason: String) -> GeneratorError {
      GeneratorError(
        file: file, line: node.startLocation(converter: converter).line, reason: reason)
    }
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
      let method = try parseMethod(
        function, index: methods.count, interface: name, interfaceNames: interfaceNames,
        fail: { node, reason in fail(node, reason) })
      if methods.contains(where: { $0.name == method.name }) {
        throw fail(
          function,
          "interface '\(name)' declares '\(method.name)' twice: overloads cannot be told apart by number"
        )
      }
      methods.append(method)
    }
    return Interface(name: name, methods: methods, file: file)
  }

  private static func parseMethod(
    _ function: FunctionDeclSyntax, index: Int, interface: String, interfaceNames: Set<String>,
    fail: (Syntax, String) -> GeneratorError
  ) throws(GeneratorError) -> Method {
    let name = function.name.text
    let place = "\(interface).\(name)"
    if function.genericParameterClause != nil || function.genericWhereClause != nil {
      throw fail(Syntax(function), "\(place) may not be generic")
    }
    if !function.modifiers.isEmpty {
      throw fail(Syntax(function), "\(place) may not be '\(function.modifiers.trimmedDescription)'")
    }
    let effects = function.signature.effectSpecifiers
    if effects?.asyncSpecifier != nil {
      throw fail(Syntax(function), "\(place) may not be async")
    }
    var throwsRpcError = false
    if let throwsClause = effects?.throwsClause {
      guard let type = throwsClause.type?.trimmedDescription, type == "RpcError" else {
        throw fail(
          Syntax(function),
          "\(place) must throw RpcError only: write 'throws(RpcError)' (untyped throws cannot cross)"
        )
      }
      throwsRpcError = true
    }

    var parameters: [Parameter] = []
    for parameter in function.signature.parameterClause.parameters {
      let label = parameter.firstName.text == "_" ? nil : parameter.firstName.text
      let inner = parameter.secondName?.text ?? parameter.firstName.text
      if parameter.ellipsis != nil {
        throw fail(Syntax(parameter), "\(place): parameter '\(inner)' may not be variadic")
      }
      if parameter.defaultValue != nil {
        throw fail(Syntax(parameter), "\(place): parameter '\(inner)' may not have a default value")
      }
      var type = parameter.type
      var ownership: String?
      if let attributed = type.as(AttributedTypeSyntax.self) {
        ownership = attributed.specifiers.trimmedDescription
        type = attributed.baseType
        if !attributed.attributes.isEmpty {
          throw fail(Syntax(parameter), "\(place): parameter '\(inner)' may not have attributes")
        }
      }
      let typeText = type.trimmedDescription
      let kind: CrossingKind
      if let payload = rrefPayload(type) {
        switch ownership {
        case "consuming": kind = .movedRRef(payload: payload)
        case "borrowing": kind = .borrowedRRef(payload: payload)
        default:
          throw fail(
            Syntax(parameter),
            "\(place): RRef parameter '\(inner)' must say 'consuming' (move it to the callee) or 'borrowing' (lend it for the call)"
          )
        }
      } else {
        if let ownership {
          throw fail(
            Syntax(parameter),
            "\(place): parameter '\(inner)' is '\(ownership)', which only RRef parameters may be")
        }
        kind = try crossingKind(of: type, interfaceNames: interfaceNames) { reason in
          fail(Syntax(parameter), "\(place): parameter '\(inner)' \(reason)")
        }
      }
      parameters.append(Parameter(label: label, name: inner, type: typeText, kind: kind))
    }

    guard let returnClause = function.signature.returnClause else {
      if throwsRpcError {
        return Method(
          name: name, index: index, parameters: parameters, resultType: "Void",
          resultKind: .value, throwsRpcError: true)
      }
      throw fail(
        Syntax(function),
        "\(place) must return Result<T, RpcError> or be throws(RpcError): a call can always fail")
    }
    var successType = returnClause.type
    if !throwsRpcError {
      guard let identifier = successType.as(IdentifierTypeSyntax.self),
        identifier.name.text == "Result",
        let arguments = identifier.genericArgumentClause?.arguments, arguments.count == 2,
        let failure = arguments.last?.argument.as(TypeSyntax.self),
        failure.trimmedDescription == "RpcError",
        let success = arguments.first?.argument.as(TypeSyntax.self)
      else {
        throw fail(
          Syntax(returnClause),
          "\(place) must return Result<T, RpcError>, not \(returnClause.type.trimmedDescription)")
      }
      successType = success
    }
    let successText = successType.trimmedDescription
    let resultKind: CrossingKind
    if successText == "Void" || successText == "()" {
      resultKind = .value
    } else if let payload = rrefPayload(successType) {
      resultKind = .movedRRef(payload: payload)
    } else {
      resultKind = try crossingKind(of: successType, interfaceNames: interfaceNames) { reason in
        fail(Syntax(returnClause), "\(place): its result \(reason)")
      }
    }
    return Method(
      name: name, index: index, parameters: parameters,
      resultType: successText == "()" ? "Void" : successText, resultKind: resultKind,
      throwsRpcError: throwsRpcError)
  }

  /// The payload type of `RRef<T>`, or nil for any other type.
  private static func rrefPayload(_ type: TypeSyntax) -> String? {
    guard let identifier = type.as(IdentifierTypeSyntax.self), identifier.name.text == "RRef",
      let arguments = identifier.genericArgumentClause?.arguments, arguments.count == 1
    else { return nil }
    return arguments.first?.argument.trimmedDescription
  }

  /// Types known not to be plain data, with why; the compiler checks the rest
  /// (the generated argument structs are BitwiseCopyable).
  private static let notPlainData: [String: String] = [
    "String": "holds heap memory", "Array": "holds heap memory", "Dictionary": "holds heap memory",
    "Set": "holds heap memory", "Substring": "holds heap memory",
    "AnyObject": "is a class reference",
    "Any": "is an existential",
  ]

  private static func crossingKind(
    of type: TypeSyntax, interfaceNames: Set<String>, fail: (String) -> GeneratorError
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
      _ = try crossingKind(of: optional.wrappedType, interfaceNames: interfaceNames, fail: fail)
      return .value
    }
    if let implicit = type.as(ImplicitlyUnwrappedOptionalTypeSyntax.self) {
      throw fail(
        "is an implicitly unwrapped optional (\(implicit.trimmedDescription)): write an optional")
    }
    if let identifier = type.as(IdentifierTypeSyntax.self) {
      let name = identifier.name.text
      if let why = notPlainData[name] {
        throw fail("is \(name), which \(why): use plain data or an RRef")
      }
      if interfaceNames.contains(name) {
        throw fail("is the protocol \(name): pass its proxy, \(name)Proxy")
      }
      if name.hasSuffix("Proxy"), interfaceNames.contains(String(name.dropLast(5))) {
        return .interface(String(name.dropLast(5)))
      }
      if ["RRefArray", "RRefDeque"].contains(name) {
        throw fail("is \(name), not yet supported across calls: pass an RRef")
      }
    }
    if let tuple = type.as(TupleTypeSyntax.self) {
      for element in tuple.elements {
        _ = try crossingKind(of: element.type, interfaceNames: interfaceNames, fail: fail)
      }
    }
    return .value
  }
}
