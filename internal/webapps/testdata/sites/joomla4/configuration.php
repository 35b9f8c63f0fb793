<?php
class JConfig {
	public $password = 'secret';
}
