/// The ELF header: every field the loader checks, each wrong in turn.
import ELF
import Testing

@Suite struct HeaderTests {
  let valid = ImageBuilder.realistic().build()

  @Test func tooShortForTheHeader() {
    expectError(
      Array(valid.prefix(0x3f)), .tooShort(size: 0x3f),
      "image is 0x3f bytes, too short for the 0x40-byte ELF header")
    expectError(
      [], .tooShort(size: 0), "image is 0x0 bytes, too short for the 0x40-byte ELF header")
  }

  @Test func badMagic() {
    var bytes = valid
    bytes[3] = 0x47
    expectError(
      bytes, .badMagic(0x474c_457f),
      "bad ELF magic 0x474c457f (expected 0x464c457f, \"\\x7fELF\")")
  }

  @Test func notClass64() {
    var bytes = valid
    bytes[4] = 1
    expectError(bytes, .notClass64(1), "ELF class 1 is not ELFCLASS64 (2)")
  }

  @Test func notLittleEndian() {
    var bytes = valid
    bytes[5] = 2
    expectError(
      bytes, .notLittleEndian(2), "ELF data encoding 2 is not little-endian (ELFDATA2LSB, 1)")
  }

  @Test func wrongVersion() {
    var identification = valid
    identification[6] = 0
    expectError(
      identification, .badVersion(identification: 0, header: 1),
      "ELF version is 0 in e_ident and 1 in e_version (expected EV_CURRENT, 1, in both)")
    var header = valid
    patch32(&header, at: 20, 2)
    expectError(
      header, .badVersion(identification: 1, header: 2),
      "ELF version is 1 in e_ident and 2 in e_version (expected EV_CURRENT, 1, in both)")
  }

  @Test func notASharedObject() {
    var builder = ImageBuilder.realistic()
    builder.type = 2
    expectError(
      builder, .notSharedObject(2), "ELF type 2 is not ET_DYN (3): a domain is linked with -shared")
  }

  @Test func wrongMachine() {
    var builder = ImageBuilder.realistic()
    builder.machine = 183
    expectError(builder, .wrongMachine(183), "ELF machine 183 is not EM_X86_64 (62)")
  }

  @Test func wrongProgramHeaderEntrySize() {
    var bytes = valid
    patch16(&bytes, at: 54, 0x20)
    expectError(
      bytes, .badProgramHeaderEntrySize(0x20),
      "e_phentsize is 0x20 (expected 0x38, the size of Elf64_Phdr)")
  }

  @Test func programHeadersOutsideTheFile() {
    var pastEnd = valid
    patch64(&pastEnd, at: 32, 0x1130)  // 4 entries need 0xe0 bytes; 0xd0 remain
    expectError(
      pastEnd, .programHeadersOutsideFile(offset: 0x1130, count: 4, fileSize: 0x1200),
      "program header table at 0x1130 (4 entries of 0x38 bytes) runs past the end of the "
        + "0x1200-byte file")
    var wrapping = valid
    patch64(&wrapping, at: 32, .max - 8)
    expectError(
      wrapping, .programHeadersOutsideFile(offset: .max - 8, count: 4, fileSize: 0x1200),
      "program header table at 0xfffffffffffffff7 (4 entries of 0x38 bytes) runs past the end "
        + "of the 0x1200-byte file")
    var many = valid
    patch16(&many, at: 56, 0xffff)
    expectError(
      many, .programHeadersOutsideFile(offset: 0x40, count: 0xffff, fileSize: 0x1200),
      "program header table at 0x40 (65535 entries of 0x38 bytes) runs past the end of the "
        + "0x1200-byte file")
  }
}
