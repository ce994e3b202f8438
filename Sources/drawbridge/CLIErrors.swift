import Foundation
import Gateway

/// Errors on the command line: one plain line on stderr (see `PlainErrorText`).
enum CLIErrors {
    static func report(_ message: String) {
        FileHandle.standardError.write(Data("drawbridge: \(message)\n".utf8))
    }

    static func plain(_ error: any Error) -> String {
        PlainErrorText.plain(error)
    }
}
