import './base.css';
import './monitor.css';
