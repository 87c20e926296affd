// SPDX-License-Identifier: Apache-2.0
// A minimal ERC-20 for the Ethereum node tests: balances, transfer with its Transfer event,
// and a payable forward that moves ether on inside the call (an internal transfer).
pragma solidity 0.8.26;

contract Token {
    mapping(address => uint256) public balanceOf;

    event Transfer(address indexed from, address indexed to, uint256 value);

    constructor() {
        uint256 supply = 2 ** 200;
        balanceOf[msg.sender] = supply;
        emit Transfer(address(0), msg.sender, supply);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        require(balanceOf[msg.sender] >= value, "insufficient balance");
        balanceOf[msg.sender] -= value;
        balanceOf[to] += value;
        emit Transfer(msg.sender, to, value);
        return true;
    }

    function forward(address payable to) external payable {
        to.transfer(msg.value);
    }
}
