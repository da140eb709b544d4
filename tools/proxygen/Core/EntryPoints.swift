// Writes a domain's Exports.swift: its service object, its init, its manifest text and
// one C entry point per method of each export, for the kernel to call.
//
// This file is compiled in the domain's own module, among the domain's declarations,
// which are not to be trusted. So it holds no logic: each entry point forwards to the
// method's entry-point body in SwiftletInterfaces (CodeGenerator.entryBody), compiled
// where the domain's names are not visible. The little that is here cannot be
// redirected by the domain's declarations either:
//
// - every name from another module is qualified by its module (`Swift.UInt64`,
//   `SwiftletLib.fillExportTable`); a domain can declare a type named like one of them,
//   but not a module, and scripts/lint-domains.py refuses a declaration named like a
//   module the domain links with;
// - what is called from another module is a function of that module, never a member
//   of a type: a domain could extend a type with an overload that wins, but cannot add
//   to another module's functions;
// - the names that are not qualified (the service variable, the entry points) start with
//   `_` or `swiftlet`, which a domain may not declare (the lint), and the service type
//   is the domain's own;
// - no operator is used: a domain can declare an operator overload for any types.
//
// The service's conformance to each real interface is checked where the entry point
// passes it to the body, whose generic parameter is constrained to the interface.

extension CodeGenerator {
  /// What the generated Exports.swift calls the service object.
  static let serviceVariable = "_swiftletService"

  /// One domain's entry points: init, manifest, the table of entry points, and one
  /// function per method of each export.
  public static func exports(for domain: DomainManifest, interfaces: [Interface]) -> String {
    let byName = Dictionary(uniqueKeysWithValues: interfaces.map { ($0.name, $0) })
    let exported = domain.exports.compactMap { byName[$0] }
    var out = header + "import SwiftletInterfaces\nimport SwiftletLib\n\n"
    out += """
      /// The domain's one service object: made by swiftlet_domain_init, gone when the
      /// domain is destroyed (its heap with it).
      nonisolated(unsafe) private var \(serviceVariable): \(domain.service)? = nil

      /// Called by the kernel once the image is loaded, as a call into the domain (a crash
      /// here is contained like any other); its status word is 0.
      @c(swiftlet_domain_init)
      public func swiftletDomainInit() -> Swift.UInt64 {
        SwiftletLib.FaultInjection.domainStarting()
        unsafe \(serviceVariable) = \(domain.service)()
        return 0
      }

      /// What the manifest says about this domain, for the kernel to enforce.
      @c(swiftlet_domain_manifest)
      public func swiftletDomainManifest() -> Swift.UnsafePointer<Swift.UInt8> {
        unsafe SwiftletLib.manifestTextAddress("\(manifestText(domain, exported))")
      }

      """
    out += "\n" + entryTable(exported)
    for interface in exported {
      for method in interface.methods {
        out += "\n" + entryPoint(interface, method)
      }
    }
    return out
  }

  /// The name of a method's entry point in Swift (`entrySymbol` is its C name).
  static func entryFunction(_ interface: Interface, _ method: Method) -> String {
    "swiftletExport_\(interface.name)_\(method.name)"
  }

  /// The function that hands the kernel every entry point, in the manifest's order, so
  /// that filling the export table takes no symbol lookup per method. It returns how
  /// many it wrote (0 unless the kernel's table has room for exactly that many), which
  /// the kernel checks against the methods the manifest text names.
  static func entryTable(_ exported: [Interface]) -> String {
    let entries = exported.flatMap { interface in
      interface.methods.map { entryFunction(interface, $0) }
    }
    var out = """
      /// Every method's entry point, by export and then by method as the manifest lists
      /// them: what the kernel fills this domain's export slots with.
      @c(swiftlet_domain_entries)
      public func swiftletDomainEntries(
        _ table: Swift.UnsafeMutablePointer<Swift.UInt>, _ capacity: Swift.Int
      ) -> Swift.Int {
        unsafe SwiftletLib.fillExportTable(
          table, capacity,
          [

      """
    for entry in entries {
      out += "      \(entry),\n"
    }
    return out + "    ])\n}\n"
  }

  /// The manifest as the kernel reads it: `key=value` lines, the quotas always with
  /// their resolved values, and for each export the names of its methods in order,
  /// which name their entry points and slots.
  static func manifestText(_ domain: DomainManifest, _ exported: [Interface]) -> String {
    var lines = [
      "name=\(domain.name)", "exports=\(domain.exports.joined(separator: ","))",
      "imports=\(domain.imports.joined(separator: ","))", "heapKiB=\(domain.heapKiB)",
      "budgetMilliseconds=\(domain.budgetMilliseconds)",
      "sharedHeapKiB=\(domain.sharedHeapKiB)", "threads=\(domain.threads)",
      "frames=\(domain.frames)",
    ]
    if let device = domain.device { lines.append("device=\(device)") }
    for interface in exported {
      lines.append(
        "methods.\(interface.name)=\(interface.methods.map(\.name).joined(separator: ","))")
    }
    return lines.joined(separator: "\\n") + "\\n"
  }

  /// The symbol the kernel looks up for a method's entry point.
  static func entrySymbol(_ interface: Interface, _ method: Method) -> String {
    "swiftlet_export_\(interface.name)_\(method.name)"
  }

  /// One method's entry point: forwards to its body in SwiftletInterfaces.
  static func entryPoint(_ interface: Interface, _ method: Method) -> String {
    """
    /// \(interface.name).\(method.name) calls arrive here: arguments, result slot; returns the status.
    @c(\(entrySymbol(interface, method)))
    public func \(entryFunction(interface, method))(
      _ _: Swift.UInt64, _ arguments: Swift.UnsafeRawPointer, _ result: Swift.UnsafeMutableRawPointer
    ) -> Swift.UInt64 {
      unsafe SwiftletInterfaces.\(entryBodyName(interface, method))(\(serviceVariable)!, arguments, result)
    }

    """
  }
}
