// swift-tools-version:6.2
// Host-side package: unit tests of the kernel code that needs no hardware.
//
// Every target here is also compiled into the kernel by the Makefile, in Embedded
// mode, so these sources must build in both worlds: no Foundation, typed throws only,
// generics rather than non-class existentials, and no global mutable state.
import PackageDescription

let warningsAreErrors: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
  name: "Swiftlet",
  targets: [
    .target(name: "BootInfo", path: "kernel/bootinfo", swiftSettings: warningsAreErrors),
    .target(name: "Memory", path: "kernel/mem", swiftSettings: warningsAreErrors),
    .target(name: "ELF", path: "kernel/elf", swiftSettings: warningsAreErrors),
    .target(name: "PCI", path: "kernel/pci", swiftSettings: warningsAreErrors),
    // Device-access libraries for driver domains: safe Swift, as domain code must be.
    // Virtio is left out of the package, as in the Makefile, so that it cannot make a
    // DMA region from a number (Registers' `package` initializers); the tests are in.
    .target(
      name: "Registers", path: "domains/lib/registers",
      swiftSettings: warningsAreErrors + [.strictMemorySafety()]),
    .target(
      name: "Virtio", dependencies: ["Registers"], path: "domains/lib/virtio",
      packageAccess: false, swiftSettings: warningsAreErrors + [.strictMemorySafety()]),
    // The 82540EM driver core, left out of the package like Virtio.
    .target(
      name: "E1000", dependencies: ["Registers", "Packets"], path: "domains/lib/e1000",
      packageAccess: false, swiftSettings: warningsAreErrors + [.strictMemorySafety()]),
    // The network protocols the stack domain is built on: domain code, safe Swift.
    .target(
      name: "Packets", path: "domains/lib/packets",
      swiftSettings: warningsAreErrors + [.strictMemorySafety()]),
    // The proxy generator's core, built against the toolchain's own SwiftSyntax (no package
    // to fetch and build).
    .target(
      name: "ProxyGeneratorCore", path: "tools/proxygen/Core",
      swiftSettings: warningsAreErrors + [.unsafeFlags(["-I", "/opt/swift/usr/lib/swift/host"])],
      linkerSettings: [
        .unsafeFlags([
          "-L", "/opt/swift/usr/lib/swift/host", "-lSwiftSyntax", "-lSwiftParser",
          "-Xlinker", "-rpath", "-Xlinker", "/opt/swift/usr/lib/swift/host",
        ])
      ]),
    // What the fuzz targets share with the unit tests that replay their kept inputs
    // (tests/fuzz): the input reader, and the lister of kept inputs. Host only.
    .target(name: "FuzzSupport", path: "tests/fuzz/FuzzSupport", swiftSettings: warningsAreErrors),
    .testTarget(
      name: "BootInfoTests", dependencies: ["BootInfo", "FuzzSupport"],
      path: "tests/unit/BootInfoTests",
      swiftSettings: warningsAreErrors),
    .testTarget(
      name: "MemoryTests", dependencies: ["Memory", "FuzzSupport"], path: "tests/unit/MemoryTests",
      swiftSettings: warningsAreErrors),
    .testTarget(
      name: "ELFTests", dependencies: ["ELF", "FuzzSupport"], path: "tests/unit/ELFTests",
      swiftSettings: warningsAreErrors),
    .testTarget(
      name: "PCITests", dependencies: ["PCI", "FuzzSupport"], path: "tests/unit/PCITests",
      swiftSettings: warningsAreErrors),
    .testTarget(
      name: "RegistersTests", dependencies: ["Registers"], path: "tests/unit/RegistersTests",
      swiftSettings: warningsAreErrors),
    .testTarget(
      name: "VirtioTests", dependencies: ["Virtio", "Registers", "FuzzSupport"],
      path: "tests/unit/VirtioTests",
      swiftSettings: warningsAreErrors),
    .testTarget(
      name: "E1000Tests", dependencies: ["E1000", "Registers", "Packets", "FuzzSupport"],
      path: "tests/unit/E1000Tests", swiftSettings: warningsAreErrors),
    .testTarget(
      name: "PacketsTests", dependencies: ["Packets", "FuzzSupport"],
      path: "tests/unit/PacketsTests",
      swiftSettings: warningsAreErrors),
    .testTarget(
      name: "ProxyGeneratorTests", dependencies: ["ProxyGeneratorCore"],
      path: "tests/unit/ProxyGeneratorTests",
      swiftSettings: warningsAreErrors + [.unsafeFlags(["-I", "/opt/swift/usr/lib/swift/host"])]),
  ]
)
