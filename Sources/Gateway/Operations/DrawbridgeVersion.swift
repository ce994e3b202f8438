/// The version `drawbridge --version` prints.
public enum DrawbridgeVersion {
    public static let current = "0.1.0-dev"
}
