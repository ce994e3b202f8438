import Foundation

/// Splits PEM files into single certificate blocks, with errors that name the file.
enum PEMFiles {
    static func certificates(inFile path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw GatewayStartupError.file(path: path, reason: "cannot read file")
        }
        let blocks = certificateBlocks(in: text)
        guard !blocks.isEmpty else {
            throw GatewayStartupError.file(path: path, reason: "no PEM 'CERTIFICATE' block found")
        }
        return blocks
    }

    static func certificateBlocks(in text: String) -> [String] {
        let begin = "-----BEGIN CERTIFICATE-----"
        let end = "-----END CERTIFICATE-----"
        var blocks: [String] = []
        var rest = text[...]
        while let start = rest.range(of: begin), let stop = rest.range(of: end, range: start.upperBound..<rest.endIndex) {
            blocks.append(String(rest[start.lowerBound..<stop.upperBound]))
            rest = rest[stop.upperBound...]
        }
        return blocks
    }
}
