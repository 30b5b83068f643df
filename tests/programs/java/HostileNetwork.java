// Connects to the service's own port on 127.0.0.1.
import java.net.InetSocketAddress;
import java.net.Socket;

public class HostileNetwork {
    public static void main(String[] args) {
        int port = Integer.parseInt(args[0]);
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            System.out.println("tcp 127.0.0.1: allowed");
        } catch (Exception e) {
            System.out.println("tcp 127.0.0.1: " + e.getClass().getSimpleName() + " " + e.getMessage());
        }
        System.out.println("env: " + new java.util.TreeSet<>(System.getenv().keySet()));
    }
}
