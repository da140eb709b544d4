// swift-format-ignore-file
// Imports: SwiftletInterfaces and SwiftletLib only, and only plainly.

import SwiftletInterfaces
import struct SwiftletLib.RpcError
import Foundation
import _Volatile
import Synchronization
import func Swift.print
@_implementationOnly import SwiftletLib
@_exported import SwiftletInterfaces
@testable import SwiftletLib
@preconcurrency import SwiftletLib
@_spi(Kernel) import SwiftletLib
public import Glibc

func describe(import value: Int) -> Int { value }  // an argument label, not an import
let described = describe(import: 1)
