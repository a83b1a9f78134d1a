"""PyTorch's "Neural Networks" tutorial (LeNet on a 32x32 input): a manual update through .data, then optim.SGD."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim


class Net(nn.Module):

    def __init__(self):
        super(Net, self).__init__()
        # 1 input image channel, 6 output channels, 5x5 square convolution kernel
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        # an affine operation: y = Wx + b
        self.fc1 = nn.Linear(16 * 5 * 5, 120)  # 5*5 from image dimension
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        # Max pooling over a (2, 2) window
        x = F.max_pool2d(F.relu(self.conv1(x)), (2, 2))
        # If the size is a square, you can specify with a single number
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, self.num_flat_features(x))
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return x

    def num_flat_features(self, x):
        size = x.size()[1:]  # all dimensions except the batch dimension
        num_features = 1
        for s in size:
            num_features *= s
        return num_features


def build():
    return {"net": Net()}


def data(rng):
    return {"input": rng.standard_normal((1, 1, 32, 32), dtype="float32"),
            "out_grad": rng.standard_normal((1, 10), dtype="float32"),
            "target": rng.standard_normal(10, dtype="float32"),
            "batch": rng.standard_normal((4, 1, 32, 32), dtype="float32"),
            "batch_target": rng.standard_normal((4, 10), dtype="float32")}


def run(models, data):
    net = models["net"]
    params = list(net.parameters())
    shapes = [len(params), tuple(params[0].size())]  # 10, conv1's .weight

    input = torch.from_numpy(data["input"])
    out = net(input)
    # Zero the gradient buffers of all parameters and backprops with random gradients
    net.zero_grad()
    out.backward(torch.from_numpy(data["out_grad"]))
    random_grad = net.conv1.weight.grad.clone()

    output = net(input)
    target = torch.from_numpy(data["target"])
    target = target.view(1, -1)  # make it the same shape as output
    criterion = nn.MSELoss()
    loss = criterion(output, target)

    net.zero_grad()  # zeroes the gradient buffers of all parameters
    bias_grad_before = net.conv1.bias.grad
    loss.backward()
    bias_grad_after = net.conv1.bias.grad.clone()

    learning_rate = 0.01
    for f in net.parameters():
        f.data.sub_(f.grad.data * learning_rate)

    # create your optimizer
    optimizer = optim.SGD(net.parameters(), lr=0.01)
    losses = [loss.item()]
    batch, batch_target = torch.from_numpy(data["batch"]), torch.from_numpy(data["batch_target"])
    for _ in range(3):
        # in your training loop:
        optimizer.zero_grad()  # zero the gradient buffers
        output = net(batch)
        loss = criterion(output, batch_target)
        loss.backward()
        optimizer.step()  # Does the update
        losses.append(loss.item())

    return {"shapes": shapes, "out": out, "random_grad": random_grad, "bias_grad_before": bias_grad_before,
            "bias_grad_after": bias_grad_after, "losses": losses, "state": net.state_dict()}
