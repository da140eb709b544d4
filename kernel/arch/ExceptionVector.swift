/// The 32 exception vectors the CPU defines, with the names reports use.
enum ExceptionVector: UInt64, CaseIterable {
  case divideError = 0
  case debug, nmi, breakpoint, overflow, boundRange, invalidOpcode
  case deviceNotAvailable, doubleFault, coprocessorSegmentOverrun, invalidTSS
  case segmentNotPresent, stackFault, generalProtection, pageFault, reserved15
  case x87Floating, alignmentCheck, machineCheck, simdFloating, virtualization
  case controlProtection, reserved22, reserved23, reserved24, reserved25, reserved26
  case reserved27, hypervisorInjection, vmmCommunication, security, reserved31

  /// What happened, in words.
  var name: StaticString {
    switch self {
    case .divideError: "divide error"
    case .debug: "debug"
    case .nmi: "non-maskable interrupt"
    case .breakpoint: "breakpoint"
    case .overflow: "overflow"
    case .boundRange: "bound range exceeded"
    case .invalidOpcode: "invalid opcode"
    case .deviceNotAvailable: "device not available"
    case .doubleFault: "double fault"
    case .coprocessorSegmentOverrun: "coprocessor segment overrun"
    case .invalidTSS: "invalid TSS"
    case .segmentNotPresent: "segment not present"
    case .stackFault: "stack-segment fault"
    case .generalProtection: "general protection fault"
    case .pageFault: "page fault"
    case .x87Floating: "x87 floating-point error"
    case .alignmentCheck: "alignment check"
    case .machineCheck: "machine check"
    case .simdFloating: "SIMD floating-point error"
    case .virtualization: "virtualization exception"
    case .controlProtection: "control protection exception"
    case .hypervisorInjection: "hypervisor injection"
    case .vmmCommunication: "VMM communication"
    case .security: "security exception"
    default: "reserved exception"
    }
  }

  /// The manual's mnemonic, e.g. "#PF".
  var mnemonic: StaticString {
    switch self {
    case .divideError: "#DE"
    case .debug: "#DB"
    case .nmi: "NMI"
    case .breakpoint: "#BP"
    case .overflow: "#OF"
    case .boundRange: "#BR"
    case .invalidOpcode: "#UD"
    case .deviceNotAvailable: "#NM"
    case .doubleFault: "#DF"
    case .invalidTSS: "#TS"
    case .segmentNotPresent: "#NP"
    case .stackFault: "#SS"
    case .generalProtection: "#GP"
    case .pageFault: "#PF"
    case .x87Floating: "#MF"
    case .alignmentCheck: "#AC"
    case .machineCheck: "#MC"
    case .simdFloating: "#XM"
    case .virtualization: "#VE"
    case .controlProtection: "#CP"
    case .hypervisorInjection: "#HV"
    case .vmmCommunication: "#VC"
    case .security: "#SX"
    default: "#??"
    }
  }
}
